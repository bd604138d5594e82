// AsyncRunner: the I/O thread on which JobQueue runs asynchronous jobs.
//
// DESIGN
// One io_context, run by one thread of its own, so that blocking jobs holding every worker
// never delay a completion. A work guard keeps run() going while no job is pending.
// Handlers run one at a time on that thread, which is why cancel callbacks and timers need
// no lock. The runner keeps no registry of live jobs: JobQueue already holds each one in its
// table of running jobs, under its own mutex, and hands cancel() the cores to reach (one
// lock and no map entry per job fewer). How a job ends is reported to `ended` (JobQueue
// counts it), from whichever thread ended it.
#pragma once

#include "jobs/async_core.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/thread/thread.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace fcgihost {
namespace detail {

class AsyncRunner final : public AsyncHost {
public:
    using Ended = std::function<void(std::uint64_t id, const std::string& name, AsyncEnd end, const std::string& why)>;

    AsyncRunner(const AsyncRunner&) = delete;
    AsyncRunner& operator=(const AsyncRunner&) = delete;
    explicit AsyncRunner(Ended ended);
    // Stops the thread; jobs still pending are destroyed with the io_context (and reported
    // as dropped to `ended`, which must still be callable).
    ~AsyncRunner();

    void start();  // the I/O thread; jobs queued before it wait
    // A job's state; the caller records it, then starts the job on the I/O thread
    // (start_async_job() inside a function given to post()).
    std::shared_ptr<AsyncCore> make_core(std::uint64_t id, std::string name, CancellationToken token);
    void post(std::function<void()> function);  // runs it on the I/O thread
    // Fires the cancel callbacks of `cores` (every job not yet ended), on the I/O thread.
    void cancel(std::vector<std::shared_ptr<AsyncCore>> cores);
    void stop();    // ends the I/O thread; pending handlers stay in the io_context until destruction

    void async_ended(const AsyncCore& core, AsyncEnd end, const std::string& why) override;
    void async_sleep(const std::shared_ptr<AsyncCore>& core, std::chrono::steady_clock::duration duration,
                     AsyncContext::SleepHandler handler) override;

private:
    void thread_main();

    // Declared before io_: the handlers io_ destroys report to them.
    const Ended ended_;

    boost::thread thread_;  // joined by the destructor before io_ goes
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
};

}  // namespace detail
}  // namespace fcgihost
