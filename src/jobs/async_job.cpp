#include "jobs/async_core.hpp"

#include "fcgihost/log.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <exception>

namespace fcgihost {
namespace detail {

const char* to_string(AsyncEnd end) {
    switch (end) {
        case AsyncEnd::completed: return "completed";
        case AsyncEnd::failed: return "failed";
        case AsyncEnd::cancelled: return "cancelled";
        case AsyncEnd::dropped: return "dropped";
    }
    return "unknown";
}

bool AsyncCore::end(AsyncEnd how, const std::string& why) {
    if (ended.exchange(true)) return false;
    host.async_ended(*this, how, why);
    return true;
}

void AsyncCore::fire_cancel() {
    if (cancel_seen) return;
    cancel_seen = true;
    if (ended) return;
    // Moved out first: a callback may register or remove others while we iterate.
    auto callbacks = std::move(cancel_callbacks);
    cancel_callbacks.clear();
    for (auto& callback : callbacks) callback.second();
}

std::uint64_t AsyncCore::add_cancel_callback(std::function<void()> callback) {
    if (cancel_seen || token.cancelled()) {
        boost::asio::post(io, std::move(callback));
        return 0;
    }
    const std::uint64_t callback_id = next_callback++;
    cancel_callbacks.emplace(callback_id, std::move(callback));
    return callback_id;
}

void AsyncCore::remove_cancel_callback(std::uint64_t callback_id) { cancel_callbacks.erase(callback_id); }

namespace {
// The job whose handler runs on this thread right now (run_job_handler nests).
thread_local AsyncCore* t_in_flight = nullptr;
}  // namespace

void retain_context(AsyncCore& core) noexcept { core.contexts.fetch_add(1, std::memory_order_relaxed); }

void release_context(const std::shared_ptr<AsyncCore>& core) noexcept {
    // acq_rel: whatever another copy's thread did before its release is visible to the drop.
    if (core->contexts.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    // Asio may destroy a handler (and the context it captured) while its exception unwinds,
    // before run_job_handler's catch: the exception must win then, so the drop waits.
    if (t_in_flight == core.get() && std::uncaught_exceptions() > 0) {
        core->drop_deferred = true;
        return;
    }
    // Runs in destructors of handlers and captures: end() must not throw out of here.
    try {
        core->end(AsyncEnd::dropped, "dropped without completing (the last AsyncContext copy died)");
    } catch (...) {
        log_error("async job ", core->name, ": counting its drop threw (ignored)");
    }
}

void run_job_handler(const std::shared_ptr<AsyncCore>& core, const std::function<void()>& handler) {
    AsyncCore* const outer = t_in_flight;
    t_in_flight = core.get();
    try {
        handler();
    } catch (const JobCancelled&) {
        core->end(AsyncEnd::cancelled, "gave up (JobCancelled)");
    } catch (const std::exception& e) {
        core->end(AsyncEnd::failed, std::string("a handler threw: ") + e.what());
    } catch (...) {
        core->end(AsyncEnd::failed, "a handler threw an exception of unknown type");
    }
    t_in_flight = outer;
    if (core->drop_deferred) core->end(AsyncEnd::dropped, "dropped without completing (the last AsyncContext copy died)");
}

void start_async_job(const std::shared_ptr<AsyncCore>& core, const AsyncJob& job) {
    if (core->token.cancelled()) core->cancel_seen = true;
    AsyncContext context(core);
    run_job_handler(core, [&] { job(context); });
}

void asio_sleep(const std::shared_ptr<AsyncCore>& core, std::chrono::steady_clock::duration duration,
                AsyncContext::SleepHandler handler) {
    auto timer = std::make_shared<boost::asio::steady_timer>(JobExecutor(core->io.get_executor(), core), duration);
    std::weak_ptr<boost::asio::steady_timer> weak = timer;
    const std::uint64_t callback_id = core->add_cancel_callback([weak] {
        if (auto alive = weak.lock()) alive->cancel();
    });
    timer->async_wait([timer, core, callback_id, handler = std::move(handler)](const boost::system::error_code& ec) {
        core->remove_cancel_callback(callback_id);
        handler(ec);
    });
}

}  // namespace detail

AsyncContext::AsyncContext(std::shared_ptr<detail::AsyncCore> core) : core_(std::move(core)) {
    detail::retain_context(*core_);
}

AsyncContext::AsyncContext(const AsyncContext& other) : core_(other.core_) {
    if (core_) detail::retain_context(*core_);
}

AsyncContext& AsyncContext::operator=(const AsyncContext& other) {
    AsyncContext copy(other);
    core_.swap(copy.core_);  // `copy` releases the old one
    return *this;
}

AsyncContext& AsyncContext::operator=(AsyncContext&& other) noexcept {
    if (this == &other) return *this;
    AsyncContext old(std::move(*this));  // released once this one holds the new job
    core_ = std::move(other.core_);
    return *this;
}

AsyncContext::~AsyncContext() {
    if (core_) detail::release_context(core_);
}

JobExecutor AsyncContext::executor() const {
    return JobExecutor(core_->io.get_executor(), core_);
}
const CancellationToken& AsyncContext::token() const { return core_->token; }
const std::string& AsyncContext::name() const { return core_->name; }
void AsyncContext::done() { core_->end(detail::AsyncEnd::completed, ""); }
void AsyncContext::fail(std::string why) { core_->end(detail::AsyncEnd::failed, why); }
void AsyncContext::gave_up() { core_->end(detail::AsyncEnd::cancelled, "gave up"); }
bool AsyncContext::ended() const { return core_->ended; }

void AsyncContext::on_cancel(std::function<void()> callback) {
    core_->add_cancel_callback(std::move(callback));
}

void AsyncContext::sleep_for(std::chrono::steady_clock::duration duration, SleepHandler handler) {
    core_->host.async_sleep(core_, duration, std::move(handler));
}

}  // namespace fcgihost
