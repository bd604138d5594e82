// DurableRunner as a DrainParticipant: what the drain calls, from the main thread.
#include "durable/durable_runner.hpp"

#include "base/steady_wait.hpp"
#include "fcgihost/log.hpp"

#include <boost/thread/lock_guard.hpp>

namespace fcgihost {
namespace durable {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

bool DurableRunner::idle_locked() const {
    if (running_ > 0 || !ready_.empty() || completing_ > 0) return false;
    // With --workers 0 nothing is ever claimed here, so "nothing due" is never learnt.
    return workers_count_ == 0 || stop_claiming_ || (nothing_due_ && !wake_);
}

void DurableRunner::request_stop() { source_.request_stop(); }

void DurableRunner::close() {
    boost::lock_guard<boost::mutex> lock(mutex_);
    closed_ = true;
}

WaitResult DurableRunner::wait_idle_until(std::chrono::steady_clock::time_point deadline, unsigned step) {
    boost::unique_lock<boost::mutex> lock(mutex_);
    while (!idle_locked()) {
        if (step != 0 && skipped_through_ >= step) return WaitResult::interrupted;
        if (Clock::now() >= deadline) return WaitResult::deadline;
        detail::wait_until(state_changed_, lock, deadline);
    }
    return WaitResult::idle;
}

void DurableRunner::interrupt_wait(unsigned through_step) {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (through_step > skipped_through_) skipped_through_ = through_step;
    }
    state_changed_.notify_all();
}

void DurableRunner::cancel() {
    std::deque<DurableJob> unstarted;
    {
        // Before the tokens flip: a job that ends on its cancel goes back to the store, and
        // a claim started after that would take it again only to put it back once more.
        boost::lock_guard<boost::mutex> lock(mutex_);
        stop_claiming_ = true;
        unstarted.swap(ready_);
    }
    source_.cancel();
    for (const DurableJob& job : unstarted) {
        if (!record(Ending{job, Outcome::released, "", {}})) {
            boost::lock_guard<boost::mutex> lock(mutex_);
            unrecorded_.push_back(Ending{job, Outcome::released, "", {}});
        }
    }
    state_changed_.notify_all();
}

bool DurableRunner::finished() {
    boost::lock_guard<boost::mutex> lock(mutex_);
    return running_ == 0;
}

std::string DurableRunner::summary() {
    RunCounts c = run_counts();
    std::string left = "?";
    try {
        left = std::to_string(store_->counts().left());
    } catch (const std::exception& e) {
        log_warn("durable jobs: cannot count what is left: ", e.what());
    }
    return " durable_completed=" + std::to_string(c.completed) + " durable_failed=" + std::to_string(c.failed) +
           " durable_dead=" + std::to_string(c.dead) + " durable_released=" + std::to_string(c.released) +
           " durable_left=" + left;
}

}  // namespace durable
}  // namespace fcgihost
