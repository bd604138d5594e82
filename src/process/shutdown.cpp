#include "process/shutdown.hpp"

#include "fcgihost/log.hpp"

#include <signal.h>
#include <string.h>

#include <algorithm>
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

// The steps a Ctrl-C can end, as the waits of JobQueue and Server number them.
constexpr unsigned kStepDrain = 1;
constexpr unsigned kStepGrace = 2;

unsigned step_of(HostState state) {
    switch (state) {
        case HostState::running:  // stop requested, run() not yet in the drain
        case HostState::draining: return kStepDrain;
        case HostState::cancelling: return kStepGrace;
        case HostState::stopped: return kStepGrace + 1;
    }
    return kStepDrain;
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
    unsigned skip_through = 0;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (!stop_requested_) {
            stop_requested_ = true;
            reason_ = signal_name(sig);
            first = true;
        } else if (sig == SIGINT) {
            // The step under way, unless an earlier Ctrl-C has ended it already: then the next.
            skipped_through_ = std::max(skipped_through_, step_of(state_) - 1) + 1;
            skip_through = skipped_through_;
        }
    }
    if (first) {
        stop_requested_changed_.notify_all();
    } else if (skip_through != 0) {
        log_warn("SIGINT again: skipping to the next drain step (",
                 skip_through == kStepDrain ? "cancel jobs now" : "exit now", ")");
        // The skip is recorded where each wait checks it, under the lock it waits on, so
        // it does not matter whether a wait has started yet.
        jobs_.interrupt_wait(skip_through);
        if (participant_ != nullptr) participant_->interrupt_wait(skip_through);
        if (server_ != nullptr) server_->interrupt_wait(skip_through);
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

// Jobs not started are abandoned at once; running jobs and requests still in a handler
// get the cancel grace to end, and what is left after it is lost work.
void ShutdownSequence::cancel_step(WaitResult drained, DrainReport& report) {
    // Entering the cancelling state is what makes a later Ctrl-C skip the grace.
    set_state(HostState::cancelling);
    bool cut_short = drained == WaitResult::interrupted;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        cut_short = cut_short || skipped_through_ >= kStepDrain;  // may have ended the request wait only
    }
    JobCounts before = jobs_.counts();
    log_warn(cut_short ? "drain cut short by SIGINT" : "drain deadline reached",
             ": cancelling ", before.running, " running job(s), abandoning ", before.queued, " not started",
             report.requests_finished ? "" : "; requests still in flight");
    for (const std::string& name : jobs_.cancel()) {
        log_warn("job ", name, " abandoned: never started");
        report.abandoned.push_back(name);
    }
    if (participant_ != nullptr) participant_->cancel();
    const auto grace_end = std::chrono::steady_clock::now() + options_.cancel_grace;
    jobs_.wait_idle_until(grace_end, kStepGrace);
    if (participant_ != nullptr) participant_->wait_idle_until(grace_end, kStepGrace);
    std::vector<std::string> still_running = jobs_.abandon_rest();
    for (const std::string& name : still_running) {
        log_error("job ", name, " abandoned: still running after the cancel grace");
        report.abandoned.push_back(name);
    }
    report.workers_finished = still_running.empty() && (participant_ == nullptr || participant_->finished());
    if (server_ != nullptr && !report.requests_finished) {
        // Request threads with nothing in flight end within moments of the stop; waiting
        // for them lets the process exit with every thread joined.
        report.requests_finished = server_->wait_stopped_until(grace_end, kStepGrace);
        if (!report.requests_finished) {
            report.requests_unfinished = server_->counts().active;
            log_error(report.requests_unfinished, " request(s) still in a handler after the cancel grace");
        }
    }
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
        report.requests_finished = server_->wait_stopped_until(deadline, kStepDrain);
        if (!report.requests_finished) log_warn("requests still in flight; the drain goes on without them");
    }
    jobs_.close();
    if (participant_ != nullptr) participant_->close();

    WaitResult drained = jobs_.wait_idle_until(deadline, kStepDrain);
    if (drained == WaitResult::idle && participant_ != nullptr) {
        drained = participant_->wait_idle_until(deadline, kStepDrain);
    }
    if (drained != WaitResult::idle || !report.requests_finished) cancel_step(drained, report);
    report.cancelled = jobs_.cancelled_names();  // a job can give up before any deadline
    set_state(HostState::stopped);

    JobCounts end = jobs_.counts();
    report.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    const bool lost = end.cancelled > 0 || end.abandoned > 0 || report.requests_unfinished > 0;
    report.exit_status = lost ? kExitWorkLost : kExitDrained;
    std::ostringstream summary;
    summary << "drain " << (report.exit_status == kExitDrained ? "complete" : "incomplete") << ": jobs completed="
            << end.completed << " failed=" << end.failed << " cancelled=" << end.cancelled
            << " abandoned=" << end.abandoned << " rejected=" << (end.rejected_full + end.rejected_stopping + end.rejected_no_workers)
            << " requests_unfinished=" << report.requests_unfinished << " took=" << report.took.count()
            << "ms exit=" << report.exit_status;
    if (participant_ != nullptr) summary << participant_->summary();
    if (reason.compare(0, 6, "reload") == 0) summary << " after=reload";
    if (!report.cancelled.empty()) summary << " cancelled_jobs=" << name_list(report.cancelled);
    if (!report.abandoned.empty()) summary << " abandoned_jobs=" << name_list(report.abandoned);
    report.summary = summary.str();
    log_line(report.exit_status == kExitDrained ? LogLevel::info : LogLevel::warn, report.summary);
    return report;
}

}  // namespace fcgihost
