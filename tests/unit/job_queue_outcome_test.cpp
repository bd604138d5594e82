// JobQueue: how each way a job ends is counted (completed, failed, cancelled), and jobs
// whose captures throw while being destroyed, on every path where a job dies: after its
// run, dropped by cancel(), refused by queue(), left to the queue's destructor.
#include "jobs/job_queue.hpp"

#include "unit/throwing_capture.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <future>
#include <stdexcept>
#include <string>
#include <vector>

using namespace fcgihost;
using fcgihost::test_support::Bomb;

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

class JobQueueOutcomeTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(JobQueueOutcomeTest);
    CPPUNIT_TEST(job_throwing_after_cancel_is_counted_cancelled);
    CPPUNIT_TEST(job_returning_after_cancel_is_counted_cancelled);
    CPPUNIT_TEST(job_cancelled_counts_cancelled_whatever_the_token_says);
    CPPUNIT_TEST(capture_throwing_in_its_destructor_after_the_run_is_logged_and_counted);
    CPPUNIT_TEST(capture_throwing_in_its_destructor_when_cancel_drops_it_is_counted);
    CPPUNIT_TEST(capture_throwing_in_its_destructor_when_refused_is_counted);
    CPPUNIT_TEST(capture_throwing_in_its_destructor_in_the_queue_destructor_is_caught);
    CPPUNIT_TEST_SUITE_END();

public:
    void job_throwing_after_cancel_is_counted_cancelled() {
        JobQueue queue(one_worker());
        std::promise<void> started;
        queue.queue("throws-on-cancel", [&](const CancellationToken& t) {
            started.set_value();
            t.wait(TokenLevel::cancelled);
            throw std::runtime_error("stopped half-way");
        });
        queue.start();
        started.get_future().get();
        queue.cancel();
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        JobCounts c = queue.counts();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.cancelled);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), c.failed);
        CPPUNIT_ASSERT_EQUAL(std::string("throws-on-cancel"), queue.cancelled_names().at(0));
    }

    void capture_throwing_in_its_destructor_after_the_run_is_logged_and_counted() {
        JobQueue queue(one_worker());
        queue.queue("bomb", [bomb = Bomb::armed()](const CancellationToken&) {});
        std::promise<void> after;
        queue.queue("after", [&](const CancellationToken&) { after.set_value(); });
        queue.start();
        after.get_future().get();
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        JobCounts c = queue.counts();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), c.completed);  // it ran to its end
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.destroy_errors);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), c.failed);
    }

    void capture_throwing_in_its_destructor_when_cancel_drops_it_is_counted() {
        Gate gate;  // outlives the queue, whose worker is inside gate.job() until joined
        JobQueue queue(one_worker());
        queue.queue("gated", gate.job());
        queue.queue("bomb", [bomb = Bomb::armed()](const CancellationToken&) {});
        queue.queue("plain", [](const CancellationToken&) {});
        queue.start();
        gate.started.get_future().get();
        std::vector<std::string> dropped = queue.cancel();
        gate.release.set_value();
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), dropped.size());
        JobCounts c = queue.counts();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), c.abandoned);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.destroy_errors);
    }

    void capture_throwing_in_its_destructor_when_refused_is_counted() {
        JobQueue queue(one_worker(1));
        CPPUNIT_ASSERT(queue.queue("fills", [](const CancellationToken&) {}) == QueueResult::accepted);
        CPPUNIT_ASSERT(queue.queue("full", [bomb = Bomb::armed()](const CancellationToken&) {}) == QueueResult::full);
        queue.close();
        CPPUNIT_ASSERT(queue.queue("closed", [bomb = Bomb::armed()](const CancellationToken&) {}) ==
                       QueueResult::stopping);
        JobCounts c = queue.counts();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.rejected_full);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.rejected_stopping);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), c.destroy_errors);
    }

    // A queue never started still holds its jobs at destruction; the bomb must not end
    // the process there either (the test runner would die with it).
    void capture_throwing_in_its_destructor_in_the_queue_destructor_is_caught() {
        bool ran = false;
        {
            JobQueue queue(one_worker());
            queue.queue("bomb", [bomb = Bomb::armed()](const CancellationToken&) {});
            queue.queue("marker", [&ran](const CancellationToken&) { ran = true; });
        }
        CPPUNIT_ASSERT(!ran);
    }

    void job_cancelled_counts_cancelled_whatever_the_token_says() {
        JobQueue queue(one_worker());
        queue.queue("gives-up", [](const CancellationToken&) { throw JobCancelled(); });
        queue.queue("checks", [](const CancellationToken& t) { t.throw_if_cancelled(); });
        queue.start();
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        JobCounts c = queue.counts();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.cancelled);  // not cancelled: the check passed
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.completed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), c.failed);
        CPPUNIT_ASSERT_EQUAL(std::string("gives-up"), queue.cancelled_names().at(0));
    }

    void job_returning_after_cancel_is_counted_cancelled() {
        JobQueue queue(one_worker());
        std::promise<void> started;
        queue.queue("returns-on-cancel", [&](const CancellationToken& t) {
            started.set_value();
            if (!t.sleep_for(kLimit)) return;
        });
        queue.start();
        started.get_future().get();
        queue.cancel();
        CPPUNIT_ASSERT(queue.wait_idle_until(in_limit()) == WaitResult::idle);
        JobCounts c = queue.counts();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.cancelled);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), c.completed);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(JobQueueOutcomeTest, "unit");
