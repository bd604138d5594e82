// Asynchronous jobs: background work that waits (a timer, a socket, an HTTP client built on
// Boost.Asio) without holding a worker thread.
//
// An AsyncJob is started on the queue's I/O thread with an AsyncContext, and the job is
// running until the context says how it ended: done(), fail(msg) or gave_up(). The
// context is a cheap copyable handle; capture a copy in every completion handler that
// continues the job. When the LAST copy is destroyed without one of those calls, the job
// ends as failed, "dropped without completing", logged with its name.
//
// Contract:
// - Handlers run on the queue's I/O thread (one thread, separate from the blocking
//   workers): they must not block. Post blocking work to BackgroundQueue::queue().
// - I/O objects built on executor() report an exception thrown from their completion
//   handlers against this job: it is caught on the I/O thread, logged, and the job counted
//   failed. Exceptions never leave the I/O thread.
// - The job is counted like a blocking job (completed, failed, cancelled, abandoned) and
//   waited for by the drain. At the drain deadline (token().cancelled()) every callback
//   registered with on_cancel() runs on the I/O thread, and pending sleep_for() waits
//   complete with boost::asio::error::operation_aborted.
// - on_cancel(), sleep_for() and executor() are for the job and its handlers (the I/O
//   thread); done(), fail() and gave_up() may be called from any thread; the first of them
//   (or the drop) decides, later calls are ignored.
//
// Example (wait without a thread, then finish):
//     jobs.queue_async("remind", [](fcgihost::AsyncContext& ctx) {
//         ctx.sleep_for(std::chrono::seconds(1), [ctx](const boost::system::error_code& ec) mutable {
//             if (ec) return ctx.gave_up();  // cancelled at the drain deadline
//             ctx.done();
//         });
//     });
#pragma once

#include "fcgihost/cancellation.hpp"

#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace fcgihost {

namespace detail {
struct AsyncCore;
// Runs a handler of the job `core`, turning its exception into the job's failure.
void run_job_handler(const std::shared_ptr<AsyncCore>& core, const std::function<void()>& handler);
// The job's count of AsyncContext copies, kept in its state (no allocation of its own):
// releasing the last one ends a job nobody finished.
void retain_context(AsyncCore& core) noexcept;
void release_context(const std::shared_ptr<AsyncCore>& core) noexcept;
}  // namespace detail

// An Asio executor (io_context's, plus the job's identity): I/O objects built on it run
// their handlers on the I/O thread, and their exceptions fail this job.
class JobExecutor {
public:
    using Inner = boost::asio::io_context::executor_type;
    JobExecutor(Inner inner, std::shared_ptr<detail::AsyncCore> core) : inner_(inner), core_(std::move(core)) {}

    boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept { return inner_.context(); }
    static constexpr boost::asio::execution::blocking_t query(boost::asio::execution::blocking_t) noexcept {
        return boost::asio::execution::blocking.never;
    }
    JobExecutor require(boost::asio::execution::blocking_t::never_t) const { return *this; }
    template <class F> void execute(F f) const {
        auto core = core_;
        // std::function needs a copyable target; asio's handlers may be move-only.
        auto shared = std::make_shared<F>(std::move(f));
        boost::asio::execution::execute(inner_, [core, shared] {
            detail::run_job_handler(core, [&shared] { (*shared)(); });
        });
    }
    bool operator==(const JobExecutor& other) const noexcept { return inner_ == other.inner_ && core_ == other.core_; }
    bool operator!=(const JobExecutor& other) const noexcept { return !(*this == other); }

private:
    Inner inner_;
    std::shared_ptr<detail::AsyncCore> core_;  // identity only: holding it does not keep the job running
};

class AsyncContext {
public:
    using SleepHandler = std::function<void(const boost::system::error_code&)>;

    explicit AsyncContext(std::shared_ptr<detail::AsyncCore> core);
    AsyncContext(const AsyncContext& other);
    AsyncContext(AsyncContext&& other) noexcept : core_(std::move(other.core_)) {}
    AsyncContext& operator=(const AsyncContext& other);
    AsyncContext& operator=(AsyncContext&& other) noexcept;
    ~AsyncContext();

    JobExecutor executor() const;
    const CancellationToken& token() const;
    const std::string& name() const;

    void done();                  // completed
    void fail(std::string why);   // failed, `why` logged
    void gave_up();               // cancelled: the job stopped early, its work is lost
    bool ended() const;

    // Runs `callback` on the I/O thread once the drain deadline passes (at once, posted, if
    // it has already passed), unless the job has ended by then.
    void on_cancel(std::function<void()> callback);
    // Calls `handler` after `duration` with no error, or with operation_aborted as soon as
    // the drain deadline passes. The testing kit's ManualQueue runs these on its own clock.
    void sleep_for(std::chrono::steady_clock::duration duration, SleepHandler handler);

private:
    std::shared_ptr<detail::AsyncCore> core_;  // counted in the core: the last copy's death ends an unfinished job
};

using AsyncJob = std::function<void(AsyncContext&)>;

}  // namespace fcgihost
