#include "fcgihost/shutdown.hpp"

#include "fcgihost/log.hpp"

#include <signal.h>
#include <string.h>

#include <sstream>

namespace fcgihost {
namespace {

std::string signal_name(int sig) {
    switch (sig) {
        case SIGTERM: return "SIGTERM";
        case SIGINT: return "SIGINT";
        case SIGQUIT: return "SIGQUIT";
        case SIGHUP: return "SIGHUP";
        default: return "signal " + std::to_string(sig);
    }
}

std::string name_list(const std::vector<std::string>& names) {
    constexpr std::size_t kShown = 10;
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < kShown; ++i) out += (i ? "," : "") + names[i];
    if (names.size() > kShown) out += ",+" + std::to_string(names.size() - kShown) + " more";
    return out;
}

}  // namespace

const char* to_string(HostState state) {
    switch (state) {
        case HostState::running: return "running";
        case HostState::draining: return "draining";
        case HostState::cancelling: return "cancelling";
        case HostState::stopped: return "stopped";
    }
    return "unknown";
}

ShutdownSequence::ShutdownSequence(Server* server, JobQueue& jobs, DrainOptions options)
    : server_(server), jobs_(jobs), options_(options) {}

void ShutdownSequence::notify_signal(int sig) {
    bool first = false;
    bool skip = false;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (!stop_requested_) {
            stop_requested_ = true;
            reason_ = signal_name(sig);
            first = true;
        } else if (sig == SIGINT) {
            ++skips_;
            skip = true;
        }
    }
    if (first) {
        stop_requested_changed_.notify_all();
    } else if (skip) {
        log_warn("SIGINT again: skipping to the next drain step");
        jobs_.interrupt_wait();
        if (participant_ != nullptr) participant_->interrupt_wait();
        if (server_ != nullptr) server_->interrupt_wait();
    } else {
        log_info(signal_name(sig), " during the drain: ignored (send SIGINT to skip ahead)");
    }
}

void ShutdownSequence::request_stop(const std::string& reason) {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (stop_requested_) return;
        stop_requested_ = true;
        reason_ = reason;
    }
    stop_requested_changed_.notify_all();
}

bool ShutdownSequence::skipped(unsigned skip_at) const {
    boost::lock_guard<boost::mutex> lock(mutex_);
    return skips_ >= skip_at;
}

void ShutdownSequence::set_state(HostState state) {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        state_ = state;
    }
    if (observer_) observer_(state);
}

HostState ShutdownSequence::state() const {
    boost::lock_guard<boost::mutex> lock(mutex_);
    return state_;
}

std::chrono::milliseconds ShutdownSequence::deadline_left() const {
    boost::lock_guard<boost::mutex> lock(mutex_);
    if (state_ != HostState::draining) return std::chrono::milliseconds(0);
    auto left = deadline_ - std::chrono::steady_clock::now();
    if (left.count() < 0) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(left);
}

DrainReport ShutdownSequence::run() {
    std::string reason;
    {
        boost::unique_lock<boost::mutex> lock(mutex_);
        while (!stop_requested_) stop_requested_changed_.wait(lock);
        reason = reason_;
    }
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + options_.drain_timeout;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        deadline_ = deadline;
    }
    set_state(HostState::draining);
    JobCounts at_start = jobs_.counts();
    log_info(reason, ": draining; ", at_start.queued, " job(s) queued, ", at_start.running,
             " running; deadline in ", options_.drain_timeout.count(), " ms, then ",
             options_.cancel_grace.count(), " ms cancel grace");

    DrainReport report;
    jobs_.request_stop();
    if (participant_ != nullptr) participant_->request_stop();
    if (server_ != nullptr) {
        server_->begin_stop();
        report.requests_finished = server_->wait_stopped_until(skipped(1) ? started : deadline);
        if (!report.requests_finished) log_warn("requests still in flight; the drain goes on without them");
    }
    jobs_.close();
    if (participant_ != nullptr) participant_->close();

    bool idle = !skipped(1) && jobs_.wait_idle_until(deadline) == WaitResult::idle;
    if (idle && participant_ != nullptr) idle = participant_->wait_idle_until(deadline) == WaitResult::idle;
    if (!idle) {
        set_state(HostState::cancelling);
        JobCounts before = jobs_.counts();
        log_warn("drain deadline reached: cancelling ", before.running, " running job(s), abandoning ",
                 before.queued, " not started");
        for (const std::string& name : jobs_.cancel()) {
            log_warn("job ", name, " abandoned: never started");
            report.abandoned.push_back(name);
        }
        if (participant_ != nullptr) participant_->cancel();
        const auto grace_end = std::chrono::steady_clock::now() + options_.cancel_grace;
        if (!skipped(2)) jobs_.wait_idle_until(grace_end);
        if (!skipped(2) && participant_ != nullptr) participant_->wait_idle_until(grace_end);
        std::vector<std::string> still_running = jobs_.abandon_rest();
        for (const std::string& name : still_running) {
            log_error("job ", name, " abandoned: still running after the cancel grace");
            report.abandoned.push_back(name);
        }
        report.workers_finished = still_running.empty() && (participant_ == nullptr || participant_->finished());
        report.cancelled = jobs_.cancelled_names();
    }
    set_state(HostState::stopped);

    JobCounts end = jobs_.counts();
    report.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    report.exit_status = (end.cancelled > 0 || end.abandoned > 0) ? kExitWorkLost : kExitDrained;
    std::ostringstream summary;
    summary << "drain " << (report.exit_status == kExitDrained ? "complete" : "incomplete") << ": jobs completed="
            << end.completed << " failed=" << end.failed << " cancelled=" << end.cancelled
            << " abandoned=" << end.abandoned << " rejected=" << (end.rejected_full + end.rejected_stopping)
            << " took=" << report.took.count() << "ms exit=" << report.exit_status;
    if (participant_ != nullptr) summary << participant_->summary();
    if (!report.cancelled.empty()) summary << " cancelled_jobs=" << name_list(report.cancelled);
    if (!report.abandoned.empty()) summary << " abandoned_jobs=" << name_list(report.abandoned);
    report.summary = summary.str();
    log_line(report.exit_status == kExitDrained ? LogLevel::info : LogLevel::warn, report.summary);
    return report;
}

}  // namespace fcgihost
