// Asynchronous jobs on the real JobQueue (its I/O thread) and the testing kit's ManualQueue.
#include "demo/demo_routes.hpp"
#include "jobs/job_queue.hpp"
#include "fcgihost/testing.hpp"
#include "support/log_text.hpp"
#include "support/process.hpp"

#include <boost/asio/steady_timer.hpp>
#include <cppunit/extensions/HelperMacros.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <sstream>
#include <stdexcept>

using namespace fcgihost;
using fcgihost::testing::ManualQueue;
using fcgihost::testing_support::LogCapture;

namespace {

constexpr auto kLimit = std::chrono::seconds(10);

bool wait_idle(JobQueue& queue) {
    return queue.wait_idle_until(std::chrono::steady_clock::now() + kLimit) == WaitResult::idle;
}

}  // namespace

class AsyncJobTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AsyncJobTest);
    CPPUNIT_TEST(sleep_then_done_is_completed);
    CPPUNIT_TEST(handler_exception_is_counted_failed);
    CPPUNIT_TEST(timer_on_the_job_executor_reports_its_exception);
    CPPUNIT_TEST(dropped_context_is_counted_and_logged);
    CPPUNIT_TEST(cancel_aborts_pending_sleeps_at_once);
    CPPUNIT_TEST(on_cancel_after_the_cancel_still_runs);
    CPPUNIT_TEST(cancelled_and_abandoned_async_jobs_keep_their_names);
    CPPUNIT_TEST(refusals_full_and_stopping);
    CPPUNIT_TEST(queue_without_async_support_refuses);
    CPPUNIT_TEST(kit_advance_runs_due_sleeps_only);
    CPPUNIT_TEST(kit_cancel_aborts_sleeps);
    CPPUNIT_TEST(kit_counts_throw_and_drop);
    CPPUNIT_TEST(kit_context_assignment_moves_the_hold);
    CPPUNIT_TEST(kit_demo_wait_route);
    CPPUNIT_TEST_SUITE_END();

public:
    void sleep_then_done_is_completed() {
        JobQueue queue;
        queue.start();
        CPPUNIT_ASSERT(queue.queue_async("s", [](AsyncContext& ctx) {
            ctx.sleep_for(std::chrono::milliseconds(5), [ctx](const boost::system::error_code& ec) mutable {
                if (ec) return ctx.fail(ec.message());
                ctx.done();
            });
        }) == QueueResult::accepted);
        CPPUNIT_ASSERT(wait_idle(queue));
        JobCounts c = queue.counts();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), c.completed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), c.failed);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), c.async_running);
    }

    void handler_exception_is_counted_failed() {
        JobQueue queue;
        queue.start();
        queue.queue_async("thrower", [](AsyncContext& ctx) {
            ctx.sleep_for(std::chrono::milliseconds(1), [ctx](const boost::system::error_code&) {
                throw std::runtime_error("handler broke");
            });
        });
        CPPUNIT_ASSERT(wait_idle(queue));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().failed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), queue.counts().dropped);
    }

    void timer_on_the_job_executor_reports_its_exception() {
        JobQueue queue;
        queue.start();
        queue.queue_async("raw-timer", [](AsyncContext& ctx) {
            auto timer = std::make_shared<boost::asio::steady_timer>(ctx.executor(), std::chrono::milliseconds(1));
            timer->async_wait([timer, ctx](const boost::system::error_code&) { throw std::logic_error("raw"); });
        });
        CPPUNIT_ASSERT(wait_idle(queue));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().failed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), queue.counts().dropped);
        // The I/O thread survived it.
        queue.queue_async("after", [](AsyncContext& ctx) { ctx.done(); });
        CPPUNIT_ASSERT(wait_idle(queue));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().completed);
    }

    void dropped_context_is_counted_and_logged() {
        LogCapture log;
        JobQueue queue;
        queue.start();
        queue.queue_async("forgetful", [](AsyncContext&) {});
        CPPUNIT_ASSERT(wait_idle(queue));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().failed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().dropped);
        std::string text = log.text();
        CPPUNIT_ASSERT(text.find("async job forgetful failed: dropped without completing") != std::string::npos);
    }

    void cancel_aborts_pending_sleeps_at_once() {
        JobQueue queue;
        queue.start();
        for (int i = 0; i < 10; ++i) {
            queue.queue_async("long" + std::to_string(i), [](AsyncContext& ctx) {
                ctx.sleep_for(std::chrono::seconds(60), [ctx](const boost::system::error_code& ec) mutable {
                    if (ec == boost::asio::error::operation_aborted) return ctx.gave_up();
                    ctx.done();
                });
            });
        }
        queue.request_stop();
        queue.close();
        CPPUNIT_ASSERT(queue.wait_idle_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(50)) ==
                       WaitResult::deadline);
        CPPUNIT_ASSERT_EQUAL(std::size_t(10), queue.counts().async_running);
        queue.cancel();
        CPPUNIT_ASSERT(wait_idle(queue));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(10), queue.counts().cancelled);
        CPPUNIT_ASSERT_EQUAL(std::size_t(10), queue.cancelled_names().size());
    }

    void on_cancel_after_the_cancel_still_runs() {
        JobQueue queue;
        queue.start();
        std::atomic<bool> called{false};
        queue.queue_async("late", [&called](AsyncContext& ctx) {
            ctx.sleep_for(std::chrono::seconds(60), [ctx, &called](const boost::system::error_code&) mutable {
                ctx.on_cancel([ctx, &called]() mutable {
                    called = true;
                    ctx.gave_up();
                });
            });
        });
        queue.cancel();
        CPPUNIT_ASSERT(wait_idle(queue));
        CPPUNIT_ASSERT(called);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().cancelled);
    }

    // The drain reports jobs by name: an asynchronous job's name lives in its state on the
    // I/O thread's side, not in the queue's table, and must still reach both lists.
    void cancelled_and_abandoned_async_jobs_keep_their_names() {
        JobQueue queue;
        queue.start();
        std::promise<void> gave_up;  // set once the first job's end is counted
        queue.queue_async("a-job-whose-name-is-too-long-for-the-small-string-buffer", [&gave_up](AsyncContext& ctx) {
            ctx.on_cancel([ctx, &gave_up]() mutable {
                ctx.gave_up();
                gave_up.set_value();
            });
        });
        std::promise<AsyncContext> stubborn;  // its context, held here: the job stays pending
        queue.queue_async("stubborn", [&stubborn](AsyncContext& ctx) { stubborn.set_value(ctx); });
        AsyncContext held = stubborn.get_future().get();
        queue.cancel();
        gave_up.get_future().get();
        const std::vector<std::string> cancelled = queue.cancelled_names();
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cancelled.size());
        CPPUNIT_ASSERT_EQUAL(std::string("a-job-whose-name-is-too-long-for-the-small-string-buffer"), cancelled[0]);
        const std::vector<std::string> abandoned = queue.abandon_rest();
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), abandoned.size());
        CPPUNIT_ASSERT_EQUAL(std::string("stubborn"), abandoned[0]);
        held.done();  // counted already (abandoned): ending it now changes no count
        CPPUNIT_ASSERT(wait_idle(queue));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().abandoned);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), queue.counts().completed);
    }

    void refusals_full_and_stopping() {
        JobQueueOptions options;
        options.async_capacity = 1;
        JobQueue queue(options);  // not started: the first job stays pending
        CPPUNIT_ASSERT(queue.queue_async("a", [](AsyncContext& ctx) { ctx.done(); }) == QueueResult::accepted);
        CPPUNIT_ASSERT(queue.queue_async("b", [](AsyncContext& ctx) { ctx.done(); }) == QueueResult::full);
        queue.close();
        CPPUNIT_ASSERT(queue.queue_async("c", [](AsyncContext& ctx) { ctx.done(); }) == QueueResult::stopping);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().rejected_full);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().rejected_stopping);
    }

    void queue_without_async_support_refuses() {
        struct BlockingOnly : BackgroundQueue {
            QueueResult queue(std::string, Job) override { return QueueResult::accepted; }
        } only;
        CPPUNIT_ASSERT(only.queue_async("x", [](AsyncContext& ctx) { ctx.done(); }) == QueueResult::unsupported);
        CPPUNIT_ASSERT_EQUAL(std::string("unsupported"), std::string(to_string(QueueResult::unsupported)));
    }

    void kit_advance_runs_due_sleeps_only() {
        ManualQueue jobs;
        int fired = 0;
        jobs.queue_async("two-steps", [&fired](AsyncContext& ctx) {
            ctx.sleep_for(std::chrono::milliseconds(100), [ctx, &fired](const boost::system::error_code&) mutable {
                ++fired;
                ctx.sleep_for(std::chrono::milliseconds(100), [ctx, &fired](const boost::system::error_code&) mutable {
                    ++fired;
                    ctx.done();
                });
            });
        });
        jobs.run_async();
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_pending());
        jobs.advance(std::chrono::milliseconds(99));
        CPPUNIT_ASSERT_EQUAL(0, fired);
        jobs.advance(std::chrono::milliseconds(1));
        CPPUNIT_ASSERT_EQUAL(1, fired);
        jobs.advance(std::chrono::milliseconds(99));
        CPPUNIT_ASSERT_EQUAL(1, fired);
        jobs.advance(std::chrono::milliseconds(1));
        CPPUNIT_ASSERT_EQUAL(2, fired);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_completed());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), jobs.async_pending());
    }

    void kit_cancel_aborts_sleeps() {
        ManualQueue jobs;
        boost::system::error_code seen;
        jobs.queue_async("w", [&seen](AsyncContext& ctx) {
            ctx.sleep_for(std::chrono::hours(1), [ctx, &seen](const boost::system::error_code& ec) mutable {
                seen = ec;
                ctx.gave_up();
            });
        });
        jobs.run_async();
        jobs.cancel_async();
        CPPUNIT_ASSERT(seen == boost::asio::error::operation_aborted);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_cancelled());
    }

    void kit_counts_throw_and_drop() {
        ManualQueue jobs;
        jobs.queue_async("thrower", [](AsyncContext& ctx) {
            ctx.sleep_for(std::chrono::seconds(1), [ctx](const boost::system::error_code&) { throw std::runtime_error("boom"); });
        });
        jobs.queue_async("dropper", [](AsyncContext&) {});
        jobs.advance(std::chrono::seconds(1));
        std::vector<std::string> failures = jobs.async_failures();
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), failures.size());
        CPPUNIT_ASSERT_EQUAL(std::string("dropper: dropped without completing (the last AsyncContext copy died)"), failures[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("thrower: a handler threw: boom"), failures[1]);
    }

    // A context counts as a holder of its job through copies, moves and assignments: the
    // job is dropped when, and only when, the last holder lets go.
    void kit_context_assignment_moves_the_hold() {
        ManualQueue jobs;
        std::unique_ptr<AsyncContext> a, b, c;
        jobs.queue_async("one", [&](AsyncContext& ctx) {
            a.reset(new AsyncContext(ctx));
            b.reset(new AsyncContext(ctx));
        });
        jobs.queue_async("two", [&](AsyncContext& ctx) { c.reset(new AsyncContext(ctx)); });
        jobs.run_async();
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), jobs.async_pending());
        *a = *c;  // "one" is still held by b
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), jobs.async_pending());
        *b = std::move(*a);  // b lets "one" go: its last holder
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_pending());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_failures().size());
        CPPUNIT_ASSERT_EQUAL(std::string("one: dropped without completing (the last AsyncContext copy died)"),
                             jobs.async_failures()[0]);
        AsyncContext& same = *b;
        *b = std::move(same);  // assigning a context to itself keeps the hold
        c.reset();
        a.reset();  // moved from: holds nothing
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_pending());
        b->done();
        b.reset();
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_completed());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_failures().size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), jobs.async_pending());
    }

    void kit_demo_wait_route() {
        testing_support::TempDir dir;
        const std::string log = dir.file("jobs.log");
        ManualQueue jobs;
        Router router;
        demo::add_demo_routes(router, jobs, demo::DemoOptions{log});
        CPPUNIT_ASSERT_EQUAL(202, fcgihost::testing::run(router, fcgihost::testing::RequestBuilder("GET", "/wait?ms=500&id=x")).status());
        CPPUNIT_ASSERT_EQUAL(400, fcgihost::testing::run(router, fcgihost::testing::RequestBuilder("GET", "/wait?ms=-1&id=y")).status());
        jobs.advance(std::chrono::milliseconds(499));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), jobs.async_completed());
        jobs.advance(std::chrono::milliseconds(1));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_completed());
        std::ifstream in(log);
        std::stringstream text;
        text << in.rdbuf();
        CPPUNIT_ASSERT_EQUAL(std::string("done x\n"), text.str());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(AsyncJobTest, "unit");
