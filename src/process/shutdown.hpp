// ShutdownSequence: the drain, as a named sequence of steps (docs/contract.md#drain).
//
//   stop signal   requests: stop accepting, finish what is in flight (a created socket's
//                 backlog is served); jobs: stopping() becomes true, queued and running
//                 jobs go on; jobs queued by the requests still in flight are accepted.
//   requests done the queue refuses new jobs (stopping).
//   all jobs done exit status 0, at once.
//   deadline      (--drain-timeout after the signal) cancelled() becomes true; jobs not
//                 yet started are abandoned; running ones, and requests still in a
//                 handler, get --cancel-grace to end.
//   grace over    jobs still running are abandoned, requests still in a handler counted
//                 unfinished; exit status kExitWorkLost.
// Each more SIGINT (Ctrl-C again) ends exactly one step: the one under way when it
// arrives, or the next one if that step has been ended already by an earlier Ctrl-C.
// The waits themselves check the skip record (JobQueue, Server), so a Ctrl-C that lands
// between two steps is neither lost nor counted twice. One more SIGTERM, SIGHUP or
// SIGQUIT changes nothing, since mod_fcgid sends SIGTERM twice on every Apache reload
// and a hard restart sends SIGHUP to the whole process group.
// Every abandoned job is logged by name; the sequence ends with one summary line. Requests
// still in flight when it ends are lost work too (requests_unfinished, kExitWorkLost).
#pragma once

#include "fcgihost/host.hpp"
#include "fcgihost/status.hpp"
#include "jobs/drain_participant.hpp"
#include "jobs/job_queue.hpp"
#include "fastcgi/server.hpp"

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/mutex.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fcgihost {

struct DrainOptions {
    std::chrono::milliseconds drain_timeout{30000};
    std::chrono::milliseconds cancel_grace{5000};
};

struct DrainReport {
    int exit_status = kExitDrained;
    std::chrono::milliseconds took{0};
    bool requests_finished = true;     // every request thread exited
    std::uint64_t requests_unfinished = 0;  // requests still in a handler at the end
    bool workers_finished = true;      // no job still running (none abandoned while running)
    std::vector<std::string> cancelled;
    std::vector<std::string> abandoned;
    std::string summary;               // the summary line, as logged
};

class ShutdownSequence {
public:
    ShutdownSequence(const ShutdownSequence&) = delete;
    ShutdownSequence& operator=(const ShutdownSequence&) = delete;

    // `server` may be null (a host with no request side, or a test).
    ShutdownSequence(Server* server, JobQueue& jobs, DrainOptions options);

    // Called on the thread that runs the sequence at every change of state (draining,
    // cancelling, stopped), e.g. to tell systemd. Set it before run().
    void on_state_change(std::function<void(HostState)> observer) { observer_ = std::move(observer); }

    // Drains `participant` (durable jobs) with the same steps and deadline. Set it before run().
    void add_participant(DrainParticipant* participant) { participant_ = participant; }

    // Records a signal; for the SignalWatcher. Never blocks for long, never throws.
    void notify_signal(int sig);
    // Starts the drain as a first SIGTERM would.
    void request_stop(const std::string& reason);

    // Blocks until the first stop, runs the sequence, returns its report.
    DrainReport run();

    HostState state() const;
    // Time left before the drain deadline; zero while running or once past it.
    std::chrono::milliseconds deadline_left() const;

private:
    void set_state(HostState state);
    void cancel_step(WaitResult drained, DrainReport& report);

    std::function<void(HostState)> observer_;
    Server* const server_;
    JobQueue& jobs_;
    DrainParticipant* participant_ = nullptr;  // may be null
    const DrainOptions options_;

    mutable boost::mutex mutex_;
    boost::condition_variable stop_requested_changed_;
    bool stop_requested_ = false;       // guarded by mutex_
    std::string reason_;                // guarded by mutex_
    unsigned skipped_through_ = 0;      // guarded by mutex_; steps ended by a Ctrl-C (1: drain, 2: grace)
    HostState state_ = HostState::running;  // guarded by mutex_
    std::chrono::steady_clock::time_point deadline_{};  // guarded by mutex_
};

}  // namespace fcgihost
