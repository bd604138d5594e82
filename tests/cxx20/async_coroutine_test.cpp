// The C++20 coroutine flavour of asynchronous jobs (async_coroutine.hpp), on the real
// JobQueue and on the testing kit's ManualQueue. Built with -std=c++20 (the rest of the
// suite and the library are C++17), linked into the one test runner.
#include "fcgihost/async_coroutine.hpp"
#include "fcgihost/log.hpp"
#include "fcgihost/testing.hpp"
#include "jobs/job_queue.hpp"
#include "support/log_text.hpp"

#ifndef FCGIHOST_HAS_COROUTINES
#error "async_coroutine.hpp is inactive: this file must be built with -std=c++20"
#endif

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <utility>

using namespace fcgihost;
using boost::asio::awaitable;
using boost::asio::use_awaitable;
using fcgihost::testing::ManualQueue;
using fcgihost::testing_support::LogCapture;

namespace {

constexpr auto kLimit = std::chrono::seconds(10);

bool wait_idle(JobQueue& queue) {
    return queue.wait_idle_until(std::chrono::steady_clock::now() + kLimit) == WaitResult::idle;
}

}  // namespace

class AsyncCoroutineTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AsyncCoroutineTest);
    CPPUNIT_TEST(awaited_sleep_then_return_is_completed);
    CPPUNIT_TEST(asio_timer_on_the_coroutine_executor);
    CPPUNIT_TEST(throw_after_an_await_is_counted_failed_and_logged);
    CPPUNIT_TEST(exception_of_unknown_type_is_counted_failed);
    CPPUNIT_TEST(job_cancelled_is_counted_cancelled);
    CPPUNIT_TEST(drain_deadline_aborts_the_awaited_sleep_at_once);
    CPPUNIT_TEST(captures_outlive_the_first_await);
    CPPUNIT_TEST(refusal_is_returned);
    CPPUNIT_TEST(kit_clock_drives_the_coroutine);
    CPPUNIT_TEST_SUITE_END();

public:
    void awaited_sleep_then_return_is_completed() {
        JobQueue queue;
        queue.start();
        int steps = 0;
        CPPUNIT_ASSERT(queue_coroutine(queue, "co-sleep", [&steps](AsyncContext& ctx) -> awaitable<void> {
            co_await async_sleep(ctx, std::chrono::milliseconds(5), use_awaitable);
            ++steps;
            co_await async_sleep(ctx, std::chrono::milliseconds(5), use_awaitable);
            ++steps;
        }) == QueueResult::accepted);
        CPPUNIT_ASSERT(wait_idle(queue));
        CPPUNIT_ASSERT_EQUAL(2, steps);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().completed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), queue.counts().failed);
    }

    void asio_timer_on_the_coroutine_executor() {
        JobQueue queue;
        queue.start();
        queue_coroutine(queue, "co-timer", [](AsyncContext&) -> awaitable<void> {
            boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, std::chrono::milliseconds(5));
            co_await timer.async_wait(use_awaitable);
        });
        CPPUNIT_ASSERT(wait_idle(queue));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().completed);
    }

    void throw_after_an_await_is_counted_failed_and_logged() {
        LogCapture log;
        JobQueue queue;
        queue.start();
        queue_coroutine(queue, "co-thrower", [](AsyncContext& ctx) -> awaitable<void> {
            co_await async_sleep(ctx, std::chrono::milliseconds(1), use_awaitable);
            throw std::runtime_error("coroutine broke");
        });
        CPPUNIT_ASSERT(wait_idle(queue));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().failed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), queue.counts().completed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), queue.counts().dropped);
        CPPUNIT_ASSERT(log.text().find("async job co-thrower failed: the coroutine threw: coroutine broke") !=
                       std::string::npos);
    }

    void exception_of_unknown_type_is_counted_failed() {
        ManualQueue jobs;
        queue_coroutine(jobs, "co-int", [](AsyncContext& ctx) -> awaitable<void> {
            co_await async_sleep(ctx, std::chrono::seconds(1), use_awaitable);
            throw 42;
        });
        jobs.run_async();
        jobs.advance(std::chrono::seconds(1));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_failed());
        CPPUNIT_ASSERT_EQUAL(std::string("co-int: the coroutine threw an exception of unknown type"),
                             jobs.async_failures().at(0));
    }

    void job_cancelled_is_counted_cancelled() {
        JobQueue queue;
        queue.start();
        queue_coroutine(queue, "co-gives-up", [](AsyncContext& ctx) -> awaitable<void> {
            co_await async_sleep(ctx, std::chrono::milliseconds(1), use_awaitable);
            throw JobCancelled();
        });
        CPPUNIT_ASSERT(wait_idle(queue));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), queue.counts().cancelled);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), queue.counts().failed);
    }

    void drain_deadline_aborts_the_awaited_sleep_at_once() {
        JobQueue queue;
        queue.start();
        std::atomic<int> aborted{0};
        for (int i = 0; i < 10; ++i) {
            queue_coroutine(queue, "co-long" + std::to_string(i), [&aborted](AsyncContext& ctx) -> awaitable<void> {
                boost::system::error_code ec;
                co_await async_sleep(ctx, std::chrono::seconds(60), boost::asio::redirect_error(use_awaitable, ec));
                if (ec == boost::asio::error::operation_aborted) ++aborted;
                throw JobCancelled();
            });
        }
        queue.request_stop();
        queue.close();
        CPPUNIT_ASSERT(queue.wait_idle_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(50)) ==
                       WaitResult::deadline);
        CPPUNIT_ASSERT_EQUAL(std::size_t(10), queue.counts().async_running);
        queue.cancel();
        CPPUNIT_ASSERT(wait_idle(queue));  // within seconds, not the 60 s of the sleeps
        CPPUNIT_ASSERT_EQUAL(10, aborted.load());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(10), queue.counts().cancelled);
        CPPUNIT_ASSERT_EQUAL(std::size_t(10), queue.cancelled_names().size());
    }

    // The job's first handler returns at the first co_await, and the function object it
    // came from would go with it: the captures must still be there when the coroutine resumes.
    void captures_outlive_the_first_await() {
        struct Sentinel {  // move-only; says when the last instance dies
            explicit Sentinel(bool* destroyed) : destroyed(destroyed) {}
            Sentinel(Sentinel&& other) noexcept : destroyed(std::exchange(other.destroyed, nullptr)) {}
            Sentinel& operator=(Sentinel&&) = delete;
            ~Sentinel() {
                if (destroyed) *destroyed = true;
            }
            bool* destroyed;
        };
        ManualQueue jobs;
        bool destroyed = false;
        bool alive_after_await = false;
        std::string seen;
        queue_coroutine(jobs, "co-capture",
                        [sentinel = Sentinel(&destroyed), &destroyed, &alive_after_await, &seen](
                            AsyncContext& ctx) -> awaitable<void> {
                            co_await async_sleep(ctx, std::chrono::seconds(1), use_awaitable);
                            alive_after_await = !destroyed && sentinel.destroyed == &destroyed;
                            seen = ctx.name();
                        });
        jobs.run_async();
        jobs.advance(std::chrono::seconds(1));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_completed());
        CPPUNIT_ASSERT(alive_after_await);
        CPPUNIT_ASSERT_EQUAL(std::string("co-capture"), seen);
        CPPUNIT_ASSERT(destroyed);  // and released once the coroutine ended
    }

    void refusal_is_returned() {
        ManualQueue jobs;
        jobs.set_stopping(true);
        bool ran = false;
        CPPUNIT_ASSERT(queue_coroutine(jobs, "co-late", [&ran](AsyncContext&) -> awaitable<void> {
            ran = true;
            co_return;
        }) == QueueResult::stopping);
        jobs.run_async();
        CPPUNIT_ASSERT(!ran);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.rejected());
    }

    void kit_clock_drives_the_coroutine() {
        ManualQueue jobs;
        int steps = 0;
        queue_coroutine(jobs, "co-kit", [&steps](AsyncContext& ctx) -> awaitable<void> {
            for (int i = 0; i < 3; ++i) {
                co_await async_sleep(ctx, std::chrono::seconds(1), use_awaitable);
                ++steps;
            }
        });
        jobs.run_async();
        CPPUNIT_ASSERT_EQUAL(0, steps);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_pending());
        jobs.advance(std::chrono::milliseconds(1500));
        CPPUNIT_ASSERT_EQUAL(1, steps);
        jobs.advance(std::chrono::seconds(2));
        CPPUNIT_ASSERT_EQUAL(3, steps);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.async_completed());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), jobs.async_pending());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(AsyncCoroutineTest, "unit");
