// WorkerScheduler, through the JobQueue that uses it: the adaptive policy moves a worker
// from SCHED_BATCH to SCHED_IDLE once its job has run past the threshold, and back for the
// next job; where the process may not leave SCHED_IDLE, workers stay at SCHED_BATCH.
#include "jobs/job_queue.hpp"

#include "durable/durable_runner.hpp"
#include "durable/sqlite_job_store.hpp"

#include "fcgihost/log.hpp"
#include "integration/demo_process.hpp"
#include "support/log_text.hpp"
#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <boost/thread/thread.hpp>

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <chrono>
#include <future>
#include <string>

using namespace fcgihost;
using Clock = std::chrono::steady_clock;
using testing_support::eventually;

namespace {

constexpr auto kLimit = std::chrono::seconds(30);  // bounds a hang; never reached when correct

pid_t current_tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

JobQueueOptions adaptive(std::chrono::milliseconds demote_after, unsigned workers = 1) {
    JobQueueOptions o;
    o.workers = workers;
    o.worker_nice = 0;
    o.worker_policy = WorkerPolicy::adaptive;
    o.worker_demote_after = demote_after;
    return o;
}

// Holds jobs until opened; opens itself when it goes, so that a failed assertion does not
// leave a worker waiting (and the queue's destructor with it). Declared after the queue.
class Latch {
public:
    Latch(const Latch&) = delete;
    Latch& operator=(const Latch&) = delete;
    Latch() : opened_(promise_.get_future().share()) {}
    ~Latch() { open(); }
    void open() {
        if (open_) return;
        open_ = true;
        promise_.set_value();
    }
    std::shared_future<void> waiter() const { return opened_; }

private:
    std::promise<void> promise_;
    std::shared_future<void> opened_;
    bool open_ = false;
};

// Ends CPU-bound jobs when told, or when it goes; like Latch, declared after the queue,
// and the jobs hold what they spin on, so it outlives them.
class Stop {
public:
    Stop(const Stop&) = delete;
    Stop& operator=(const Stop&) = delete;
    Stop() : stopped_(std::make_shared<std::atomic<bool>>(false)) {}
    ~Stop() { stop(); }
    void stop() { *stopped_ = true; }
    // A job's body: burns CPU time, which is what demotion counts, until stopped.
    std::function<void()> spinner() const {
        std::shared_ptr<std::atomic<bool>> stopped = stopped_;
        return [stopped] {
            while (!stopped->load()) {
            }
        };
    }

private:
    std::shared_ptr<std::atomic<bool>> stopped_;
};

std::int64_t thread_cpu_ns() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

// What a job saw of its own thread when it started.
struct Start {
    pid_t tid;
    int policy;
    Clock::time_point at;
};

// Takes CAP_SYS_NICE out of the calling thread's effective set (capabilities are per
// thread on Linux, and threads it creates inherit its set): with RLIMIT_NICE at 0, it and
// its children may enter SCHED_IDLE but never leave it, as an unprivileged service.
void drop_sys_nice_in_this_thread() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    CPPUNIT_ASSERT_EQUAL(0L, syscall(SYS_capget, &header, data));
    data[CAP_TO_INDEX(CAP_SYS_NICE)].effective &= ~CAP_TO_MASK(CAP_SYS_NICE);
    CPPUNIT_ASSERT_EQUAL(0L, syscall(SYS_capset, &header, data));
}

// RLIMIT_NICE's soft limit at 0 while it lives (a root shell may have raised it).
class NoNiceLimit {
public:
    NoNiceLimit(const NoNiceLimit&) = delete;
    NoNiceLimit& operator=(const NoNiceLimit&) = delete;
    NoNiceLimit() {
        CPPUNIT_ASSERT_EQUAL(0, getrlimit(RLIMIT_NICE, &saved_));
        rlimit none = saved_;
        none.rlim_cur = 0;
        CPPUNIT_ASSERT_EQUAL(0, setrlimit(RLIMIT_NICE, &none));
    }
    ~NoNiceLimit() { setrlimit(RLIMIT_NICE, &saved_); }

private:
    rlimit saved_{};
};

// Runs `body` on a thread without CAP_SYS_NICE, with the log going to `log_path`.
template <class Body> void unprivileged(const std::string& log_path, Body body) {
    NoNiceLimit limit;
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CPPUNIT_ASSERT(fd >= 0);
    log_set_fd(fd);
    std::string failure;
    boost::thread thread([&] {
        try {
            drop_sys_nice_in_this_thread();
            body();
        } catch (const CppUnit::Exception& e) {
            failure = e.what();
        } catch (const std::exception& e) {
            failure = e.what();
        }
    });
    thread.join();
    log_set_fd(2);
    ::close(fd);
    if (!failure.empty()) CPPUNIT_FAIL(failure);
}

}  // namespace

class WorkerSchedulerTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(WorkerSchedulerTest);
    CPPUNIT_TEST(adaptive_demotes_a_long_job_and_restores_the_next);
    CPPUNIT_TEST(adaptive_demotes_each_worker_on_its_own_deadline);
    CPPUNIT_TEST(adaptive_leaves_a_waiting_job_at_batch);
    CPPUNIT_TEST(adaptive_stays_batch_where_idle_cannot_be_left);
    CPPUNIT_TEST(a_refused_policy_is_logged_once);
    CPPUNIT_TEST(durable_workers_are_scheduled_the_same_way);
    CPPUNIT_TEST_SUITE_END();

public:
    void adaptive_demotes_a_long_job_and_restores_the_next() {
        const auto threshold = std::chrono::milliseconds(20);
        JobQueue queue(adaptive(threshold));
        queue.start();
        std::promise<Start> long_started;
        Stop release;
        CPPUNIT_ASSERT(queue.queue("long", [&long_started, spin = release.spinner()](const CancellationToken&) {
            long_started.set_value(Start{current_tid(), sched_getscheduler(0), Clock::now()});
            spin();
        }) == QueueResult::accepted);
        const Start first = long_started.get_future().get();
        CPPUNIT_ASSERT_EQUAL(int(SCHED_BATCH), first.policy);
        // Read from outside, as `chrt -p` would, while the job still runs.
        CPPUNIT_ASSERT(eventually([&] { return sched_getscheduler(first.tid) == SCHED_IDLE; },
                                  std::chrono::milliseconds(10000), std::chrono::milliseconds(1)));
        // Not before its time: it takes the threshold's CPU time, hence at least as much wall time.
        CPPUNIT_ASSERT(Clock::now() - first.at >= threshold);
        release.stop();

        std::promise<Start> next_started;
        CPPUNIT_ASSERT(queue.queue("next", [&next_started](const CancellationToken&) {
            next_started.set_value(Start{current_tid(), sched_getscheduler(0), Clock::now()});
        }) == QueueResult::accepted);
        const Start next = next_started.get_future().get();
        CPPUNIT_ASSERT_EQUAL(first.tid, next.tid);  // the same, only worker
        CPPUNIT_ASSERT_EQUAL(int(SCHED_BATCH), next.policy);
        CPPUNIT_ASSERT(queue.wait_idle_until(Clock::now() + kLimit) == WaitResult::idle);
    }

    void adaptive_demotes_each_worker_on_its_own_deadline() {
        // The second deadline is set while the supervisor already waits for the first one.
        const auto threshold = std::chrono::milliseconds(30);
        JobQueue queue(adaptive(threshold, 2));
        queue.start();
        std::promise<Start> starts[2];
        Stop release;
        for (auto& started : starts) {
            CPPUNIT_ASSERT(queue.queue("long", [&started, spin = release.spinner()](const CancellationToken&) {
                started.set_value(Start{current_tid(), sched_getscheduler(0), Clock::now()});
                spin();
            }) == QueueResult::accepted);
        }
        const Start a = starts[0].get_future().get();
        const Start b = starts[1].get_future().get();
        CPPUNIT_ASSERT(a.tid != b.tid);
        CPPUNIT_ASSERT(eventually(
            [&] { return sched_getscheduler(a.tid) == SCHED_IDLE && sched_getscheduler(b.tid) == SCHED_IDLE; },
            std::chrono::milliseconds(10000), std::chrono::milliseconds(1)));
        CPPUNIT_ASSERT(Clock::now() - std::max(a.at, b.at) >= threshold);
        release.stop();
        CPPUNIT_ASSERT(queue.wait_idle_until(Clock::now() + kLimit) == WaitResult::idle);
    }

    void adaptive_leaves_a_waiting_job_at_batch() {
        // A job that waits uses no CPU time, so it keeps batch past many thresholds of
        // wall time; once it spins, it is demoted.
        const auto threshold = std::chrono::milliseconds(10);
        JobQueue queue(adaptive(threshold));
        queue.start();
        std::promise<Start> started;
        Stop stop_spinning;
        Latch start_spinning;
        std::shared_future<void> spin_now = start_spinning.waiter();
        CPPUNIT_ASSERT(queue.queue("waits", [&started, spin_now, spin = stop_spinning.spinner()](const CancellationToken&) {
            started.set_value(Start{current_tid(), sched_getscheduler(0), Clock::now()});
            spin_now.wait();
            spin();
        }) == QueueResult::accepted);
        const Start job = started.get_future().get();
        // Absence cannot be awaited: ten thresholds of waiting, which demotion by wall
        // time would not let pass.
        boost::this_thread::sleep_for(boost::chrono::milliseconds(100));
        CPPUNIT_ASSERT_EQUAL(int(SCHED_BATCH), sched_getscheduler(job.tid));
        start_spinning.open();
        CPPUNIT_ASSERT(eventually([&] { return sched_getscheduler(job.tid) == SCHED_IDLE; },
                                  std::chrono::milliseconds(10000), std::chrono::milliseconds(1)));
        stop_spinning.stop();
        CPPUNIT_ASSERT(queue.wait_idle_until(Clock::now() + kLimit) == WaitResult::idle);
    }

    void adaptive_stays_batch_where_idle_cannot_be_left() {
        testing_support::TempDir dir;
        const std::string log = dir.file("log");
        unprivileged(log, [] {
            const auto threshold = std::chrono::milliseconds(1);
            JobQueue queue(adaptive(threshold));
            queue.start();
            std::promise<Start> started;
            std::promise<int> at_end;
            CPPUNIT_ASSERT(queue.queue("long", [&](const CancellationToken&) {
                started.set_value(Start{current_tid(), sched_getscheduler(0), Clock::now()});
                // Twenty thresholds of CPU time, after which it would have been demoted.
                const std::int64_t until = thread_cpu_ns() + 20000000;
                while (thread_cpu_ns() < until) {
                }
                at_end.set_value(sched_getscheduler(0));
            }) == QueueResult::accepted);
            CPPUNIT_ASSERT_EQUAL(int(SCHED_BATCH), started.get_future().get().policy);
            CPPUNIT_ASSERT_EQUAL(int(SCHED_BATCH), at_end.get_future().get());
            CPPUNIT_ASSERT(queue.wait_idle_until(Clock::now() + kLimit) == WaitResult::idle);
        });
        const std::string text = testing_support::read_file(log);
        CPPUNIT_ASSERT_MESSAGE(text, text.find("may not move a thread back from SCHED_IDLE") != std::string::npos);
        // The limit that would do, for the workers' nice value (this thread's: increment 0).
        const int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(current_tid()));
        const std::string limit = "RLIMIT_NICE of at least " + std::to_string(20 - nice);
        CPPUNIT_ASSERT_MESSAGE(text, text.find(limit) != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text, text.find("workers stay at SCHED_BATCH") != std::string::npos);
    }

    void a_refused_policy_is_logged_once() {
        // Workers inherit their creator's class: created at SCHED_IDLE without the right
        // to leave it, neither of two batch workers can have SCHED_BATCH.
        testing_support::TempDir dir;
        const std::string log = dir.file("log");
        unprivileged(log, [] {
            sched_param param{};
            CPPUNIT_ASSERT_EQUAL(0, sched_setscheduler(0, SCHED_IDLE, &param));
            JobQueueOptions o = adaptive(std::chrono::milliseconds(50), 2);
            o.worker_policy = WorkerPolicy::batch;
            JobQueue queue(o);
            queue.start();
            std::promise<int> seen;
            CPPUNIT_ASSERT(queue.queue("look", [&seen](const CancellationToken&) {
                seen.set_value(sched_getscheduler(0));
            }) == QueueResult::accepted);
            CPPUNIT_ASSERT_EQUAL(int(SCHED_IDLE), seen.get_future().get());  // it runs on as it was
            CPPUNIT_ASSERT(queue.wait_idle_until(Clock::now() + kLimit) == WaitResult::idle);
        });
        const std::string text = testing_support::read_file(log);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(text, std::size_t(1),
                                     testing_support::occurrences(text, "could not be given its scheduling policy"));
    }

    void durable_workers_are_scheduled_the_same_way() {
        testing_support::TempDir dir;
        durable::DurableRunner runner(std::make_unique<SqliteJobStore>(dir.file("jobs.db")), DurableOptions(),
                                      1, 100, detail::WorkerScheduling{0, WorkerPolicy::adaptive, std::chrono::milliseconds(20)});
        std::promise<Start> long_started;
        std::promise<int> next_policy;
        Stop release;
        runner.add_kind("long", [&long_started, spin = release.spinner()](const DurableJob&, const CancellationToken&) {
            long_started.set_value(Start{current_tid(), sched_getscheduler(0), Clock::now()});
            spin();
        });
        runner.add_kind("next", [&next_policy](const DurableJob&, const CancellationToken&) {
            next_policy.set_value(sched_getscheduler(0));
        });
        runner.start();
        CPPUNIT_ASSERT(runner.enqueue("long", "", {}).accepted());
        const Start first = long_started.get_future().get();
        CPPUNIT_ASSERT_EQUAL(int(SCHED_BATCH), first.policy);
        CPPUNIT_ASSERT(eventually([&] { return sched_getscheduler(first.tid) == SCHED_IDLE; },
                                  std::chrono::milliseconds(10000), std::chrono::milliseconds(1)));
        release.stop();
        CPPUNIT_ASSERT(runner.enqueue("next", "", {}).accepted());
        CPPUNIT_ASSERT_EQUAL(int(SCHED_BATCH), next_policy.get_future().get());
        CPPUNIT_ASSERT(eventually([&] { return runner.store().counts().left() == 0; }, std::chrono::seconds(10)));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(WorkerSchedulerTest, "unit");
