#include "fcgihost/cancellation.hpp"

#include "base/steady_wait.hpp"

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/lock_guard.hpp>
#include <boost/thread/mutex.hpp>

namespace fcgihost {
namespace detail {

struct CancellationState {
    boost::mutex mutex;
    boost::condition_variable changed;        // notified on every transition
    TokenLevel level = TokenLevel::running;   // guarded by mutex

    void raise(TokenLevel to) {
        {
            boost::lock_guard<boost::mutex> lock(mutex);
            if (level >= to) return;
            level = to;
        }
        changed.notify_all();
    }
    TokenLevel get() {
        boost::lock_guard<boost::mutex> lock(mutex);
        return level;
    }
};

}  // namespace detail

CancellationToken::CancellationToken() : state_(std::make_shared<detail::CancellationState>()) {}
CancellationToken::CancellationToken(std::shared_ptr<detail::CancellationState> state)
    : state_(std::move(state)) {}

TokenLevel CancellationToken::level() const { return state_->get(); }
bool CancellationToken::stopping() const { return level() >= TokenLevel::stopping; }
bool CancellationToken::cancelled() const { return level() >= TokenLevel::cancelled; }

bool CancellationToken::sleep_for(std::chrono::milliseconds duration, TokenLevel wake_on) const {
    return sleep_until(std::chrono::steady_clock::now() + duration, wake_on);
}

bool CancellationToken::sleep_until(std::chrono::steady_clock::time_point deadline,
                                    TokenLevel wake_on) const {
    boost::unique_lock<boost::mutex> lock(state_->mutex);
    while (state_->level < wake_on || wake_on == TokenLevel::running) {
        if (std::chrono::steady_clock::now() >= deadline) return true;
        detail::wait_until(state_->changed, lock, deadline);
    }
    return false;
}

void CancellationToken::throw_if_cancelled() const {
    if (cancelled()) throw JobCancelled();
}

void CancellationToken::wait(TokenLevel level) const {
    boost::unique_lock<boost::mutex> lock(state_->mutex);
    while (state_->level < level) state_->changed.wait(lock);
}

CancellationSource::CancellationSource() : state_(std::make_shared<detail::CancellationState>()) {}
CancellationSource::~CancellationSource() = default;
CancellationToken CancellationSource::token() const { return CancellationToken(state_); }
void CancellationSource::request_stop() { state_->raise(TokenLevel::stopping); }
void CancellationSource::cancel() { state_->raise(TokenLevel::cancelled); }
TokenLevel CancellationSource::level() const { return state_->get(); }

}  // namespace fcgihost
