// ManualQueue's asynchronous jobs: the same AsyncCore as the real queue, on an io_context
// the test drives with poll() and a clock that only advance() moves.
#include "fcgihost/testing.hpp"

#include "jobs/async_core.hpp"

#include <boost/asio/post.hpp>

#include <map>

namespace fcgihost {
namespace testing {

class ManualAsync final : public detail::AsyncHost {
public:
    explicit ManualAsync(CancellationSource& tokens) : tokens_(tokens) {}
    // Sleeps and unstarted handlers hold contexts whose drop reports to this object: they go
    // first (sleeps here, io_ as the last member), while everything else is alive.
    ~ManualAsync() override { sleeps_.clear(); }

    void async_ended(const detail::AsyncCore& core, detail::AsyncEnd end, const std::string& why) override {
        live_.erase(core.id);
        if (end == detail::AsyncEnd::cancelled || tokens_.level() == TokenLevel::cancelled) {
            ++cancelled_;
        } else if (end == detail::AsyncEnd::completed) {
            ++completed_;
        } else {
            failures_.push_back(core.name + ": " + why);
        }
    }

    void async_sleep(const std::shared_ptr<detail::AsyncCore>& core, std::chrono::steady_clock::duration duration,
                     AsyncContext::SleepHandler handler) override {
        if (core->token.cancelled()) return fire(core, std::move(handler), boost::asio::error::operation_aborted);
        sleeps_.emplace(now_ + duration, Sleep{core, std::move(handler)});
    }

    std::size_t run() {
        std::size_t ran = 0;
        for (;;) {
            start_waiting();
            io_.restart();
            const std::size_t n = io_.poll();
            ran += n;
            if (n == 0 && waiting_.empty()) return ran;
        }
    }

    std::size_t advance(std::chrono::steady_clock::duration duration) {
        const auto until = now_ + duration;
        std::size_t ran = run();
        // One deadline at a time: a handler may sleep again, due before `until`.
        while (!sleeps_.empty() && sleeps_.begin()->first <= until) {
            now_ = sleeps_.begin()->first;
            Sleep sleep = std::move(sleeps_.begin()->second);
            sleeps_.erase(sleeps_.begin());
            fire(sleep.core, std::move(sleep.handler), boost::system::error_code());
            ran += run();
        }
        now_ = until;
        return ran;
    }

    std::size_t cancel() {
        tokens_.cancel();
        for (auto& entry : live_) {
            if (auto core = entry.second.lock()) {
                boost::asio::post(io_, [core] { detail::run_job_handler(core, [&core] { core->fire_cancel(); }); });
            }
        }
        auto pending = std::move(sleeps_);
        sleeps_.clear();
        for (auto& entry : pending) fire(entry.second.core, std::move(entry.second.handler), boost::asio::error::operation_aborted);
        return run();
    }

    void queue(std::string name, AsyncJob job) { waiting_.push_back(Waiting{next_id_++, std::move(name), std::move(job)}); }

    boost::asio::io_context& io() { return io_; }
    std::size_t pending() const { return waiting_.size() + live_.size(); }
    std::size_t completed() const { return completed_; }
    std::size_t cancelled() const { return cancelled_; }
    const std::vector<std::string>& failures() const { return failures_; }

private:
    struct Waiting {
        std::uint64_t id;
        std::string name;
        AsyncJob job;
    };
    struct Sleep {
        std::shared_ptr<detail::AsyncCore> core;
        AsyncContext::SleepHandler handler;
    };

    void fire(const std::shared_ptr<detail::AsyncCore>& core, AsyncContext::SleepHandler handler,
              boost::system::error_code ec) {
        JobExecutor(io_.get_executor(), core).execute([handler = std::move(handler), ec] { handler(ec); });
    }

    void start_waiting() {
        while (!waiting_.empty()) {
            Waiting next = std::move(waiting_.front());
            waiting_.pop_front();
            auto core = std::make_shared<detail::AsyncCore>(*this, next.id, next.name, tokens_.token(), io_);
            live_.emplace(next.id, core);
            boost::asio::post(io_, [core, job = std::move(next.job)] { detail::start_async_job(core, job); });
        }
    }

    CancellationSource& tokens_;
    std::deque<Waiting> waiting_;
    std::map<std::uint64_t, std::weak_ptr<detail::AsyncCore>> live_;
    std::multimap<std::chrono::steady_clock::time_point, Sleep> sleeps_;
    std::chrono::steady_clock::time_point now_{};
    std::uint64_t next_id_ = 1;
    std::size_t completed_ = 0;
    std::size_t cancelled_ = 0;
    std::vector<std::string> failures_;
    boost::asio::io_context io_;
};

ManualQueue::ManualQueue() : async_(new ManualAsync(tokens_)) {}
ManualQueue::~ManualQueue() = default;

QueueResult ManualQueue::queue_async(std::string name, AsyncJob job) {
    if (stopping_) {
        ++rejected_;
        return QueueResult::stopping;
    }
    async_->queue(std::move(name), std::move(job));
    return QueueResult::accepted;
}

std::size_t ManualQueue::run_async() { return async_->run(); }
std::size_t ManualQueue::advance(std::chrono::steady_clock::duration duration) { return async_->advance(duration); }
std::size_t ManualQueue::cancel_async() { return async_->cancel(); }
boost::asio::io_context& ManualQueue::io() { return async_->io(); }
std::size_t ManualQueue::async_pending() const { return async_->pending(); }
std::size_t ManualQueue::async_completed() const { return async_->completed(); }
std::size_t ManualQueue::async_failed() const { return async_->failures().size(); }
std::size_t ManualQueue::async_cancelled() const { return async_->cancelled(); }
std::vector<std::string> ManualQueue::async_failures() const { return async_->failures(); }

}  // namespace testing
}  // namespace fcgihost
