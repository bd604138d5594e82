#include "jobs/async_runner.hpp"

#include "fcgihost/log.hpp"

#include <boost/asio/post.hpp>

namespace fcgihost {
namespace detail {

AsyncRunner::AsyncRunner(Ended ended) : ended_(std::move(ended)), guard_(io_.get_executor()) {}

AsyncRunner::~AsyncRunner() { stop(); }

void AsyncRunner::start() {
    if (thread_.joinable()) return;
    thread_ = boost::thread([this] { thread_main(); });
}

void AsyncRunner::stop() {
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
}

void AsyncRunner::thread_main() {
    // Handlers of job I/O objects report their own exceptions; this catches those of
    // handlers posted outside any job (a plain io_context executor), so none leaves the thread.
    for (;;) {
        try {
            io_.run();
            return;
        } catch (const std::exception& e) {
            log_error("an asynchronous handler outside any job threw (ignored): ", e.what());
        } catch (...) {
            log_error("an asynchronous handler outside any job threw (ignored): exception of unknown type");
        }
    }
}

std::shared_ptr<AsyncCore> AsyncRunner::make_core(std::uint64_t id, std::string name, CancellationToken token) {
    return std::make_shared<AsyncCore>(*this, id, std::move(name), std::move(token), io_);
}

void AsyncRunner::post(std::function<void()> function) { boost::asio::post(io_, std::move(function)); }

void AsyncRunner::cancel(std::vector<std::shared_ptr<AsyncCore>> cores) {
    boost::asio::post(io_, [cores = std::move(cores)] {
        for (auto& core : cores) run_job_handler(core, [&core] { core->fire_cancel(); });
    });
}

void AsyncRunner::async_ended(const AsyncCore& core, AsyncEnd end, const std::string& why) {
    ended_(core.id, core.name, end, why);
}

void AsyncRunner::async_sleep(const std::shared_ptr<AsyncCore>& core, std::chrono::steady_clock::duration duration,
                              AsyncContext::SleepHandler handler) {
    asio_sleep(core, duration, std::move(handler));
}

}  // namespace detail
}  // namespace fcgihost
