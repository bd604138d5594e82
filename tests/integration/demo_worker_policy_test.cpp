// --worker-policy and --worker-nice reach the demo's worker threads, read from outside
// through /proc/PID/task/TID/stat as `ps -L -o cls,ni` would.
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <dirent.h>
#include <sched.h>

#include <algorithm>
#include <csignal>
#include <sstream>
#include <string>
#include <vector>

using namespace fcgihost::testing_support;

namespace {

struct Task {
    int nice;
    int policy;
};

// Fields 19 (nice) and 41 (policy) of one task's stat; counted from after the command
// name, which may hold spaces and ends at the last ')'.
bool read_task(pid_t pid, const std::string& tid, Task& task) {
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/task/" + tid + "/stat");
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) return false;
    std::istringstream fields(stat.substr(close + 1));
    std::vector<std::string> after;
    for (std::string field; fields >> field;) after.push_back(field);
    if (after.size() < 39) return false;
    task.nice = std::stoi(after[16]);   // field 19; field 3 is after[0]
    task.policy = std::stoi(after[38]); // field 41
    return true;
}

std::vector<Task> tasks_of(pid_t pid) {
    std::vector<Task> tasks;
    DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
    if (dir == nullptr) return tasks;
    while (dirent* entry = readdir(dir)) {
        Task task{};
        if (entry->d_name[0] != '.' && read_task(pid, entry->d_name, task)) tasks.push_back(task);
    }
    closedir(dir);
    return tasks;
}

std::size_t count(const std::vector<Task>& tasks, int policy, int nice) {
    std::size_t n = 0;
    for (const Task& task : tasks) n += (task.policy == policy && task.nice == nice) ? 1 : 0;
    return n;
}

}  // namespace

class DemoWorkerPolicyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoWorkerPolicyTest);
    CPPUNIT_TEST(default_workers_start_at_batch_and_nice_10);
    CPPUNIT_TEST(idle_policy_and_nice_flags_reach_the_workers);
    CPPUNIT_TEST_SUITE_END();

public:
    void default_workers_start_at_batch_and_nice_10() {
        DemoProcess demo({"--workers", "3"});
        const pid_t pid = demo.process().pid();
        Task main{};
        CPPUNIT_ASSERT(read_task(pid, std::to_string(pid), main));
        // Workers enter their class as they start; the demo may log "listening" first.
        CPPUNIT_ASSERT(eventually([&] { return count(tasks_of(pid), SCHED_BATCH, std::min(main.nice + 10, 19)) == 3; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), count(tasks_of(pid), SCHED_IDLE, std::min(main.nice + 10, 19)));
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
    }

    void idle_policy_and_nice_flags_reach_the_workers() {
        DemoProcess demo({"--workers", "2", "--worker-policy", "idle", "--worker-nice", "5"});
        const pid_t pid = demo.process().pid();
        Task main{};
        CPPUNIT_ASSERT(read_task(pid, std::to_string(pid), main));
        CPPUNIT_ASSERT(eventually([&] { return count(tasks_of(pid), SCHED_IDLE, std::min(main.nice + 5, 19)) == 2; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoWorkerPolicyTest, "integration");
