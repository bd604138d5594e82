// Asynchronous jobs as C++20 coroutines: a job written as straight-line code that
// co_awaits, on top of queue_async() and AsyncContext (async_job.hpp), which stay the base.
//
// Active only where the compiler has C++20 coroutines and Boost.Asio its awaitable support
// (g++ 10 or later with -std=c++20); elsewhere this header declares nothing, and
// FCGIHOST_HAS_COROUTINES is not defined. The library itself is built as C++17: everything
// here is inline, over the public C++17 API.
//
// Contract:
// - queue_coroutine(queue, name, function) queues an asynchronous job whose body is
//   `function(ctx)`, a coroutine returning boost::asio::awaitable<void>. It answers as
//   queue_async() does (accepted, full, stopping, ...).
// - The function object and the context live until the coroutine ends: a lambda's captures
//   and an `AsyncContext&` parameter stay valid across every co_await.
// - The job ends when the coroutine does: returning is completed; throwing JobCancelled is
//   cancelled; throwing anything else is failed, logged with its message. The coroutine
//   need not call done(); if it calls done(), fail() or gave_up() itself, that call decides.
// - It runs on the queue's I/O thread like any asynchronous job: it must not block.
// - async_sleep(ctx, duration, token) is ctx.sleep_for() as an Asio operation: with
//   boost::asio::use_awaitable it throws boost::system::system_error (operation_aborted)
//   once the drain deadline passes; with redirect_error(use_awaitable, ec) it sets ec
//   instead. Under the testing kit's ManualQueue it runs on the kit's clock.
//
// Example:
//     fcgihost::queue_coroutine(jobs, "remind", [](fcgihost::AsyncContext& ctx) -> boost::asio::awaitable<void> {
//         co_await fcgihost::async_sleep(ctx, std::chrono::seconds(1), boost::asio::use_awaitable);
//         send_reminder();  // must not block
//     });
#pragma once

#include "fcgihost/background_queue.hpp"

// Included first for its configuration: it says whether co_await is supported.
#include <boost/asio/async_result.hpp>

#if defined(__cpp_impl_coroutine) && defined(BOOST_ASIO_HAS_CO_AWAIT)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#define FCGIHOST_HAS_COROUTINES 1

namespace fcgihost {

namespace detail {

// How a coroutine job ended, told to its context (which ignores it if the job had decided).
inline void end_coroutine(AsyncContext& ctx, const std::exception_ptr& error) {
    if (!error) return ctx.done();
    try {
        std::rethrow_exception(error);
    } catch (const JobCancelled&) {
        ctx.gave_up();
    } catch (const std::exception& e) {
        ctx.fail(std::string("the coroutine threw: ") + e.what());
    } catch (...) {
        ctx.fail("the coroutine threw an exception of unknown type");
    }
}

}  // namespace detail

template <class Function>
QueueResult queue_coroutine(BackgroundQueue& queue, std::string name, Function function) {
    static_assert(std::is_invocable_r_v<boost::asio::awaitable<void>, Function&, AsyncContext&>,
                  "queue_coroutine takes a function of AsyncContext& returning boost::asio::awaitable<void>");
    // Shared, not moved into the job: AsyncJob is a std::function (copyable), and the object
    // must outlive the job's first handler, which returns at the coroutine's first co_await.
    auto shared = std::make_shared<Function>(std::move(function));
    return queue.queue_async(std::move(name), [shared](AsyncContext& ctx) {
        struct Frame {
            std::shared_ptr<Function> function;
            AsyncContext context;  // the coroutine's own copy: it keeps the job running
        };
        auto frame = std::make_shared<Frame>(Frame{shared, ctx});
        // The completion handler holds the frame, so what the coroutine refers to lives
        // exactly as long as the coroutine.
        boost::asio::co_spawn(ctx.executor(), (*frame->function)(frame->context),
                              [frame](std::exception_ptr error) { detail::end_coroutine(frame->context, error); });
    });
}

template <class CompletionToken>
auto async_sleep(AsyncContext& ctx, std::chrono::steady_clock::duration duration, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
        [](auto handler, AsyncContext context, std::chrono::steady_clock::duration wait) {
            // sleep_for wants a copyable function; Asio's handlers may be move-only.
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            context.sleep_for(wait, [shared](const boost::system::error_code& ec) { (*shared)(ec); });
        },
        token, ctx, duration);
}

}  // namespace fcgihost

#endif
