// AsyncRunner: the I/O thread on which JobQueue runs asynchronous jobs.
//
// DESIGN
// One io_context, run by one thread of its own, so that blocking jobs holding every worker
// never delay a completion. A work guard keeps run() going while no job is pending.
// Handlers run one at a time on that thread, which is why cancel callbacks and timers need
// no lock. cancel() posts one broadcast that fires every live job's cancel callbacks; the
// registry of live jobs is the only state other threads touch (under registry_mutex_).
// How a job ends is reported to `ended` (JobQueue counts it), from whichever thread ended it.
#pragma once

#include "jobs/async_core.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/thread/mutex.hpp>
#include <boost/thread/thread.hpp>

#include <functional>
#include <map>
#include <memory>

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
    void start_job(std::uint64_t id, std::string name, CancellationToken token, AsyncJob job);
    void cancel();  // fires every live job's cancel callbacks, on the I/O thread
    void stop();    // ends the I/O thread; pending handlers stay in the io_context until destruction

    void async_ended(const AsyncCore& core, AsyncEnd end, const std::string& why) override;
    void async_sleep(const std::shared_ptr<AsyncCore>& core, std::chrono::steady_clock::duration duration,
                     AsyncContext::SleepHandler handler) override;

private:
    void thread_main();

    // Declared before io_: the handlers io_ destroys report to them.
    const Ended ended_;
    boost::mutex registry_mutex_;
    std::map<std::uint64_t, std::weak_ptr<AsyncCore>> live_;  // guarded by registry_mutex_

    boost::thread thread_;  // joined by the destructor before io_ goes
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
};

}  // namespace detail
}  // namespace fcgihost
