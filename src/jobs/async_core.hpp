// The shared state behind an AsyncContext, and the pieces JobQueue and the testing kit's
// ManualQueue both use to run asynchronous jobs. Not a public header.
#pragma once

#include "fcgihost/async_job.hpp"

#include <atomic>
#include <cstdint>
#include <map>

namespace fcgihost {
namespace detail {

enum class AsyncEnd { completed, failed, cancelled, dropped };

// Who runs asynchronous jobs and counts how they end.
class AsyncHost {
public:
    virtual ~AsyncHost() = default;
    // Called once per job, from whichever thread ended it; must not block.
    virtual void async_ended(const AsyncCore& core, AsyncEnd end, const std::string& why) = 0;
    virtual void async_sleep(const std::shared_ptr<AsyncCore>& core, std::chrono::steady_clock::duration duration,
                             AsyncContext::SleepHandler handler) = 0;
};

struct AsyncCore {
    AsyncCore(AsyncHost& host, std::uint64_t id, std::string name, CancellationToken token,
              boost::asio::io_context& io)
        : host(host), id(id), name(std::move(name)), token(std::move(token)), io(io) {}

    // First call wins; later ones return false and do nothing.
    bool end(AsyncEnd how, const std::string& why);
    // I/O thread only: runs the registered callbacks once (the drain deadline passed).
    void fire_cancel();
    // I/O thread only. A callback registered after the cancel is posted at once.
    std::uint64_t add_cancel_callback(std::function<void()> callback);
    void remove_cancel_callback(std::uint64_t callback_id);

    AsyncHost& host;
    const std::uint64_t id;
    const std::string name;
    const CancellationToken token;
    boost::asio::io_context& io;
    std::atomic<bool> ended{false};
    // AsyncContext copies alive (retain_context/release_context); any thread.
    std::atomic<std::size_t> contexts{0};

    // The I/O thread alone touches these (one thread: no lock).
    std::map<std::uint64_t, std::function<void()>> cancel_callbacks;
    std::uint64_t next_callback = 1;
    bool cancel_seen = false;
    // The last context died while a handler of this job was unwinding an exception: the
    // exception, not the drop, is the reason the job failed (run_job_handler decides).
    bool drop_deferred = false;
};

// Runs `job` with a fresh context; call it on the I/O thread.
void start_async_job(const std::shared_ptr<AsyncCore>& core, const AsyncJob& job);
// A sleep on a real steady_timer, cancelled at the drain deadline.
void asio_sleep(const std::shared_ptr<AsyncCore>& core, std::chrono::steady_clock::duration duration,
                AsyncContext::SleepHandler handler);
const char* to_string(AsyncEnd end);

}  // namespace detail
}  // namespace fcgihost
