// JobQueue: order, capacity and rejection reasons, exception isolation, the drain steps.
// Threads are ordered with promises and the queue's own waits, never with sleeps.
#include "jobs/job_queue.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <boost/thread/mutex.hpp>

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace fcgihost;

namespace {

constexpr auto kLimit = std::chrono::seconds(30);  // bounds a hang; never reached when correct

std::chrono::steady_clock::time_point in_limit() { return std::chrono::steady_clock::now() + kLimit; }

JobQueueOptions one_worker(std::size_t capacity = 100) {
    JobQueueOptions o;
    o.workers = 1;
    o.capacity = capacity;
    o.worker_nice = 0;
    o.worker_policy = WorkerPolicy::normal;
    return o;
}

// A job that blocks its worker until released, and says when it has started.
struct Gate {
    std::promise<void> started;
    std::promise<void> release;
    std::shared_future<void> released{release.get_future().share()};
    Job job() {
        return [this](const CancellationToken&) {
            started.set_value();
            released.wait();
        };
    }
};

}  // namespace

class JobQueueTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(JobQueueTest);
    CPPUNIT_TEST(jobs_run_in_queue_order);
    CPPUNIT_TEST(full_queue_rejects_and_counts);
    CPPUNIT_TEST(closed_queue_rejects_as_stopping);
    CPPUNIT_TEST(process_without_workers_refuses_and_counts);
    CPPUNIT_TEST(stop_request_still_accepts_jobs);
    CPPUNIT_TEST(throwing_jobs_are_counted_and_the_worker_goes_on);
    CPPUNIT_TEST(drain_returns_as_soon_as_the_last_job_ends);
    CPPUNIT_TEST(deadline_cancel_abandons_waiting_and_counts_returning);
    CPPUNIT_TEST(job_ignoring_cancel_is_abandoned_by_name);
    CPPUNIT_TEST(interrupt_ends_a_wait);
    CPPUNIT_TEST(interrupt_before_the_wait_is_not_lost);
    CPPUNIT_TEST(high_water_mark_is_kept);
    CPPUNIT_TEST(workers_run_with_the_nice_and_policy_they_are_given);
    CPPUNIT_TEST_SUITE_END();

public:
    void jobs_run_in_queue_order() {
        JobQueue queue(one_worker());
        boost::mutex mutex;
        std::vector<int> order;
        for (int i = 0; i < 50; ++i) {
            CPPUNIT_ASSERT(queue.queue("j" + std::to_string(i), [&, i](const CancellationToken&) {
                boost::lock_guard<boost::mutex> lock(mutex);
                order.push_back(i);
            }) == QueueResult::accepted);
        }
        queue.start();  // queued before start: all 50 wait, then run oldest first
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        CPPUNIT_ASSERT_EQUAL(std::size_t(50), order.size());
        for (int i = 0; i < 50; ++i) CPPUNIT_ASSERT_EQUAL(i, order[i]);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(50), queue.counts().completed);
    }

    void full_queue_rejects_and_counts() {
        JobQueue queue(one_worker(2));
        auto noop = [](const CancellationToken&) {};
        CPPUNIT_ASSERT(queue.queue("a", noop) == QueueResult::accepted);
        CPPUNIT_ASSERT(queue.queue("b", noop) == QueueResult::accepted);
        CPPUNIT_ASSERT(queue.queue("c", noop) == QueueResult::full);
        JobCounts c = queue.counts();
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), c.queued);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.rejected_full);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), c.accepted);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), c.capacity);
        queue.start();
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        CPPUNIT_ASSERT(queue.queue("d", noop) == QueueResult::accepted);  // room again
    }

    void closed_queue_rejects_as_stopping() {
        JobQueue queue(one_worker());
        queue.close();
        bool ran = false;
        CPPUNIT_ASSERT(queue.queue("late", [&](const CancellationToken&) { ran = true; }) == QueueResult::stopping);
        queue.start();
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        CPPUNIT_ASSERT(!ran);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().rejected_stopping);
        CPPUNIT_ASSERT_EQUAL(std::string("stopping"), std::string(to_string(QueueResult::stopping)));
    }

    // --workers 0 (a web tier): every in-memory job, blocking or async, is refused, and counted.
    void process_without_workers_refuses_and_counts() {
        JobQueueOptions options = one_worker();
        options.workers = 0;
        JobQueue queue(options);
        queue.start();
        bool ran = false;
        CPPUNIT_ASSERT(queue.queue("web", [&](const CancellationToken&) { ran = true; }) == QueueResult::no_workers);
        CPPUNIT_ASSERT(queue.queue_async("web-async", [&](AsyncContext&) { ran = true; }) == QueueResult::no_workers);
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        CPPUNIT_ASSERT(!ran);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), queue.counts().rejected_no_workers);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), queue.counts().accepted);
    }

    void stop_request_still_accepts_jobs() {
        JobQueue queue(one_worker());
        queue.request_stop();
        CPPUNIT_ASSERT(queue.token().stopping());
        CPPUNIT_ASSERT(!queue.token().cancelled());
        std::promise<bool> saw_stopping;
        CPPUNIT_ASSERT(queue.queue("x", [&](const CancellationToken& t) { saw_stopping.set_value(t.stopping()); }) ==
                       QueueResult::accepted);
        queue.start();
        CPPUNIT_ASSERT(saw_stopping.get_future().get());
    }

    void throwing_jobs_are_counted_and_the_worker_goes_on() {
        JobQueue queue(one_worker());
        queue.queue("std", [](const CancellationToken&) { throw std::runtime_error("boom"); });
        queue.queue("int", [](const CancellationToken&) { throw 42; });
        std::promise<void> after;
        queue.queue("after", [&](const CancellationToken&) { after.set_value(); });
        queue.start();
        after.get_future().get();
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        JobCounts c = queue.counts();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), c.failed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.completed);
    }

    void drain_returns_as_soon_as_the_last_job_ends() {
        Gate gate;  // outlives the queue, whose worker is inside gate.job() until joined
        JobQueue queue(one_worker());
        queue.queue("gated", gate.job());
        queue.start();
        gate.started.get_future().get();
        queue.request_stop();
        queue.close();
        std::future<WaitResult> wait =
            std::async(std::launch::async, [&] { return queue.wait_idle_until(in_limit()); });
        CPPUNIT_ASSERT(wait.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
        gate.release.set_value();
        // A wait that only woke at its deadline would take kLimit; this one wakes on the job's end.
        CPPUNIT_ASSERT(wait.wait_for(kLimit / 2) == std::future_status::ready);
        CPPUNIT_ASSERT(wait.get() == WaitResult::idle);
    }

    void deadline_cancel_abandons_waiting_and_counts_returning() {
        JobQueue queue(one_worker());
        std::promise<void> started;
        queue.queue("running", [&](const CancellationToken& t) {
            started.set_value();
            t.wait(TokenLevel::cancelled);
        });
        queue.queue("waiting-1", [](const CancellationToken&) {});
        queue.queue("waiting-2", [](const CancellationToken&) {});
        queue.start();
        started.get_future().get();
        queue.request_stop();
        queue.close();
        CPPUNIT_ASSERT(queue.wait_idle_until(std::chrono::steady_clock::now()) == WaitResult::deadline);
        std::vector<std::string> never_started = queue.cancel();
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), never_started.size());
        CPPUNIT_ASSERT_EQUAL(std::string("waiting-1"), never_started[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("waiting-2"), never_started[1]);
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        CPPUNIT_ASSERT(queue.abandon_rest().empty());
        JobCounts c = queue.counts();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.cancelled);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), c.abandoned);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), c.completed);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), queue.cancelled_names().size());
        CPPUNIT_ASSERT_EQUAL(std::string("running"), queue.cancelled_names()[0]);
    }

    void job_ignoring_cancel_is_abandoned_by_name() {
        auto gate = std::make_shared<Gate>();
        {
            JobQueue queue(one_worker());
            queue.queue("stubborn", gate->job());
            queue.start();
            gate->started.get_future().get();
            queue.cancel();
            CPPUNIT_ASSERT(queue.wait_idle_until(std::chrono::steady_clock::now()) == WaitResult::deadline);
            std::vector<std::string> names = queue.abandon_rest();
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), names.size());
            CPPUNIT_ASSERT_EQUAL(std::string("stubborn"), names[0]);
            CPPUNIT_ASSERT(queue.abandon_rest().empty());  // counted once
            gate->release.set_value();  // lets the destructor join
            CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
            JobCounts c = queue.counts();
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.abandoned);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), c.completed + c.cancelled);  // a late return is not success
        }
    }

    void interrupt_ends_a_wait() {
        Gate gate;  // outlives the queue, whose worker is inside gate.job() until joined
        JobQueue queue(one_worker());
        queue.queue("gated", gate.job());
        queue.start();
        gate.started.get_future().get();
        std::future<WaitResult> wait =
            std::async(std::launch::async, [&] { return queue.wait_idle_until(in_limit(), 1); });
        // Before or after the wait has started: either way this one skip ends it.
        queue.interrupt_wait(1);
        const bool ended = wait.wait_for(kLimit) == std::future_status::ready;
        gate.release.set_value();
        CPPUNIT_ASSERT(ended);
        CPPUNIT_ASSERT(wait.get() == WaitResult::interrupted);
    }

    void interrupt_before_the_wait_is_not_lost() {
        Gate gate;  // outlives the queue, whose worker is inside gate.job() until joined
        JobQueue queue(one_worker());
        queue.queue("gated", gate.job());
        queue.start();
        gate.started.get_future().get();
        queue.interrupt_wait(1);
        WaitResult result = queue.wait_idle_until(std::chrono::steady_clock::now() + std::chrono::seconds(2), 1);
        // A skip of the drain step is not a skip of the grace that follows it.
        WaitResult grace = queue.wait_idle_until(std::chrono::steady_clock::now(), 2);
        queue.interrupt_wait(2);
        WaitResult grace_skipped = queue.wait_idle_until(std::chrono::steady_clock::now() + std::chrono::seconds(2), 2);
        gate.release.set_value();
        CPPUNIT_ASSERT(result == WaitResult::interrupted);
        CPPUNIT_ASSERT(grace == WaitResult::deadline);
        CPPUNIT_ASSERT(grace_skipped == WaitResult::interrupted);
    }

    void high_water_mark_is_kept() {
        JobQueue queue(one_worker());
        for (int i = 0; i < 7; ++i) queue.queue("h", [](const CancellationToken&) {});
        queue.start();
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        JobCounts c = queue.counts();
        CPPUNIT_ASSERT_EQUAL(std::size_t(7), c.high_water);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), c.queued);
    }

    void workers_run_with_the_nice_and_policy_they_are_given() {
        struct Seen {
            int nice;
            int policy;
        };
        const auto seen_by_a_worker = [](int worker_nice, WorkerPolicy policy) {
            JobQueueOptions o = one_worker();
            o.worker_nice = worker_nice;
            o.worker_policy = policy;
            JobQueue queue(o);
            queue.start();
            std::promise<Seen> seen;
            CPPUNIT_ASSERT(queue.queue("look", [&seen](const CancellationToken&) {
                const auto tid = static_cast<id_t>(syscall(SYS_gettid));
                seen.set_value(Seen{getpriority(PRIO_PROCESS, tid), sched_getscheduler(0)});
            }) == QueueResult::accepted);
            return seen.get_future().get();
        };
        const int mine = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
        const Seen plain = seen_by_a_worker(0, WorkerPolicy::normal);
        CPPUNIT_ASSERT_EQUAL(mine, plain.nice);
        CPPUNIT_ASSERT_EQUAL(sched_getscheduler(0), plain.policy);
        const Seen batch = seen_by_a_worker(5, WorkerPolicy::batch);
        CPPUNIT_ASSERT_EQUAL(std::min(mine + 5, 19), batch.nice);
        CPPUNIT_ASSERT_EQUAL(int(SCHED_BATCH), batch.policy);
        CPPUNIT_ASSERT_EQUAL(int(SCHED_IDLE), seen_by_a_worker(0, WorkerPolicy::idle).policy);
        const Seen adaptive = seen_by_a_worker(3, WorkerPolicy::adaptive);  // a job starts at batch
        CPPUNIT_ASSERT_EQUAL(std::min(mine + 3, 19), adaptive.nice);
        CPPUNIT_ASSERT_EQUAL(int(SCHED_BATCH), adaptive.policy);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(JobQueueTest, "unit");
