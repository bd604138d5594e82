// Signals: with fcgihost's handlers installed, a program started from a job or a handler
// (any thread; fork+exec, posix_spawn, system(), popen()) starts with none of the stop
// signals blocked, ignored or caught, so a SIGTERM ends it; a child forked without exec
// dies of a SIGTERM instead of passing it to its parent; and a signal sent to the process
// reaches the watcher's callback, on the watcher's thread.
#include "process/signals.hpp"

#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/mutex.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <thread>
#include <vector>

extern char** environ;

using namespace fcgihost;
using namespace fcgihost::testing_support;

namespace {

const std::vector<int> kSignals = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE, SIGXFSZ};

// Puts the runner's own dispositions and mask back after a test installed the handlers.
class SavedSignalState {
public:
    SavedSignalState() {
        for (int sig : kSignals) sigaction(sig, nullptr, &actions_[sig]);
        pthread_sigmask(SIG_SETMASK, nullptr, &mask_);
    }
    ~SavedSignalState() {
        for (int sig : kSignals) sigaction(sig, &actions_[sig], nullptr);
        pthread_sigmask(SIG_SETMASK, &mask_, nullptr);
    }

private:
    struct sigaction actions_[NSIG] {};
    sigset_t mask_;
};

// The value of a "SigBlk:\t<hex>" line from /proc/<pid>/status text.
std::uint64_t signal_bits(const std::string& status, const std::string& field) {
    std::istringstream in(status);
    for (std::string line; std::getline(in, line);) {
        if (line.compare(0, field.size() + 1, field + ":") == 0) {
            return std::strtoull(line.c_str() + field.size() + 1, nullptr, 16);
        }
    }
    CPPUNIT_FAIL("no " + field + " in:\n" + status);
    return 0;
}

// Which of kSignals a child reported as blocked, ignored or caught; "" when none.
std::string inherited(const std::string& how, const std::string& status) {
    std::string out;
    for (const char* field : {"SigBlk", "SigIgn", "SigCgt"}) {
        const std::uint64_t bits = signal_bits(status, field);
        for (int sig : kSignals) {
            if (bits & (std::uint64_t(1) << (sig - 1))) out += how + ": " + field + " has signal " + std::to_string(sig) + "\n";
        }
    }
    return out;
}

// Each returns the /proc/self/status a child started that way wrote, or throws
// std::runtime_error: the job thread that calls them must not let an assertion escape it.
void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what);
}

bool exited_0(pid_t pid) {
    int status = 0;
    return ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string run_fork_exec(const std::string& out) {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    check(fd >= 0, "open " + out);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fd, 1);
        ::execl("/bin/cat", "cat", "/proc/self/status", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(fd);
    check(pid > 0 && exited_0(pid), "fork+exec cat");
    return read_file(out);
}

std::string run_posix_spawn(const std::string& out) {
    posix_spawn_file_actions_t actions;
    check(posix_spawn_file_actions_init(&actions) == 0, "posix_spawn_file_actions_init");
    int rc = posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char* argv[] = {const_cast<char*>("cat"), const_cast<char*>("/proc/self/status"), nullptr};
    pid_t pid = 0;
    if (rc == 0) rc = posix_spawn(&pid, "/bin/cat", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    check(rc == 0 && exited_0(pid), "posix_spawn cat");
    return read_file(out);
}

std::string run_system(const std::string& out) {
    check(std::system(("exec cat /proc/self/status > '" + out + "'").c_str()) == 0, "system()");
    return read_file(out);
}

std::string run_popen() {
    FILE* child = ::popen("exec cat /proc/self/status", "r");
    check(child != nullptr, "popen()");
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, child)) > 0;) text.append(buf, n);
    check(::pclose(child) == 0, "pclose()");
    return text;
}

}  // namespace

class SignalsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SignalsTest);
    CPPUNIT_TEST(children_start_with_no_signal_blocked_ignored_or_caught);
    CPPUNIT_TEST(a_signal_reaches_on_signal_on_the_watcher_thread);
    CPPUNIT_TEST(a_child_forked_without_exec_dies_of_sigterm_and_the_parent_serves_on);
    CPPUNIT_TEST_SUITE_END();

public:
    void children_start_with_no_signal_blocked_ignored_or_caught() {
        SavedSignalState saved;
        CPPUNIT_ASSERT_EQUAL(0, install_signal_handlers());
        TempDir dir;
        std::vector<std::pair<std::string, std::string>> statuses;  // how started, /proc/self/status
        std::string error;
        // From a thread started after the install, as a worker or a request thread is.
        std::thread job([&] {
            try {
                statuses.emplace_back("fork+exec", run_fork_exec(dir.file("fork")));
                statuses.emplace_back("posix_spawn", run_posix_spawn(dir.file("spawn")));
                statuses.emplace_back("system()", run_system(dir.file("system")));
                statuses.emplace_back("popen()", run_popen());
            } catch (const std::exception& e) {
                error = e.what();
            }
        });
        job.join();
        CPPUNIT_ASSERT_EQUAL(std::string(), error);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), statuses.size());
        std::string report;
        for (const auto& child : statuses) report += inherited(child.first, child.second);
        CPPUNIT_ASSERT_EQUAL(std::string(), report);
    }

    void a_signal_reaches_on_signal_on_the_watcher_thread() {
        SavedSignalState saved;
        boost::mutex mutex;
        boost::condition_variable changed;
        std::vector<int> received;       // guarded by mutex
        std::thread::id on_thread;       // guarded by mutex
        {
            SignalWatcher watcher([&](int sig) {
                boost::lock_guard<boost::mutex> lock(mutex);
                received.push_back(sig);
                on_thread = std::this_thread::get_id();
                changed.notify_all();
            });
            // SIGUSR1 is logged and ignored; SIGHUP comes after it through the same pipe.
            CPPUNIT_ASSERT_EQUAL(0, ::kill(::getpid(), SIGUSR1));
            CPPUNIT_ASSERT_EQUAL(0, ::kill(::getpid(), SIGHUP));
            boost::unique_lock<boost::mutex> lock(mutex);
            CPPUNIT_ASSERT(changed.wait_for(lock, boost::chrono::seconds(10), [&] { return !received.empty(); }));
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), received.size());
        CPPUNIT_ASSERT_EQUAL(SIGHUP, received[0]);
        CPPUNIT_ASSERT(on_thread != std::this_thread::get_id());
    }

    void a_child_forked_without_exec_dies_of_sigterm_and_the_parent_serves_on() {
#ifdef __SANITIZE_THREAD__
        // TSan defers signals to its own safe points, and in a child forked from a process
        // with live threads it never reaches one: the handler does not run at all.
        std::cout << "SKIPPED SignalsTest::a_child_forked_without_exec... in the TSan build" << std::endl;
        return;
#endif
        SavedSignalState saved;
        boost::mutex mutex;
        boost::condition_variable changed;
        std::vector<int> received;  // guarded by mutex
        {
            SignalWatcher watcher([&](int sig) {
                boost::lock_guard<boost::mutex> lock(mutex);
                received.push_back(sig);
                changed.notify_all();
            });
            const pid_t child = ::fork();
            if (child == 0) {
                ::alarm(10);  // a child the SIGTERM did not end dies of SIGALRM, not hangs
                ::kill(::getpid(), SIGTERM);
                ::pause();  // returns once a handler ran and returned: the child did not die of it
                ::_exit(0);
            }
            int status = 0;
            CPPUNIT_ASSERT_EQUAL(child, ::waitpid(child, &status, 0));
            CPPUNIT_ASSERT(WIFSIGNALED(status));
            CPPUNIT_ASSERT_EQUAL(SIGTERM, WTERMSIG(status));
            // Anything the child wrote to the pipe is read before this SIGHUP.
            CPPUNIT_ASSERT_EQUAL(0, ::kill(::getpid(), SIGHUP));
            boost::unique_lock<boost::mutex> lock(mutex);
            CPPUNIT_ASSERT(changed.wait_for(lock, boost::chrono::seconds(10), [&] { return !received.empty(); }));
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), received.size());
        CPPUNIT_ASSERT_EQUAL(SIGHUP, received[0]);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(SignalsTest, "unit");
