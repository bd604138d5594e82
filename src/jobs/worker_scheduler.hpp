// WorkerScheduler: how the kernel schedules the threads that run jobs (--worker-policy,
// --worker-nice, --worker-demote-after).
//
// Contract:
// - A worker thread calls enter() once before its first job, job_started() and
//   job_ended() around each job, and leave() before it returns. enter() applies the nice
//   increment and the policy's starting class to the calling thread.
// - adaptive: a job starts under SCHED_BATCH; once it has used demote_after of CPU time
//   its thread is moved to SCHED_IDLE, and job_ended() moves it back to SCHED_BATCH before
//   the worker takes another job. CPU time, not the wall's: on a machine busy with other
//   work a short job takes longer without being any heavier, and a job that waits (on the
//   network, a timer) costs requests nothing.
// - The kernel lets a thread leave SCHED_IDLE only with CAP_SYS_NICE or an RLIMIT_NICE
//   that allows its nice value. start() checks that once with a throwaway thread; where it
//   is refused, adaptive workers stay at SCHED_BATCH (logged once at warn), so that no
//   worker is left at SCHED_IDLE for good.
// - Every scheduling call is a preference: a refusal is logged once and the thread runs on
//   as it was.
//
// DESIGN
// One supervisor thread (adaptive only) sleeps on a condition variable until the earliest
// "look at" deadline of a running job, and no wake-up at all while no job runs. A job's
// first look is demote_after after its start, the earliest it can have used that much CPU.
// At a look, the supervisor reads the thread's CPU clock: a job that has used its share is
// demoted; one that has not (it waited, or was starved) is looked at again once it could
// have used the rest, and not before a quarter of its age has passed, so a job that waits
// for a minute is looked at a few dozen times, not every demote_after. The hazard: a job
// that computes only after a long wait is demoted late, by up to a quarter of its age.
// The supervisor demotes under mutex_, the same mutex under which the worker clears its
// deadline at the end of the job and deregisters before it exits: a demotion can never
// reach a job that has ended, nor a thread id (or CPU clock) that is gone. Workers promote
// themselves back, outside the lock, after clearing their deadline (so nothing demotes
// them again before their next job starts).
#pragma once

#include "fcgihost/job.hpp"

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/mutex.hpp>
#include <boost/thread/thread.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <sys/types.h>
#include <vector>

namespace fcgihost {
namespace detail {

struct WorkerScheduling {
    int nice = 10;  // added to each worker's nice value; 0 keeps it
    WorkerPolicy policy = WorkerPolicy::adaptive;
    std::chrono::milliseconds demote_after{50};  // adaptive: a job's CPU time at SCHED_BATCH
};

class WorkerScheduler {
public:
    using Slot = std::size_t;

    WorkerScheduler(const WorkerScheduler&) = delete;
    WorkerScheduler& operator=(const WorkerScheduler&) = delete;

    explicit WorkerScheduler(WorkerScheduling scheduling);
    ~WorkerScheduler();  // stops the supervisor; every worker must have left

    // Before the first enter(): probes, and starts the supervisor where adaptive applies.
    // Blocks for a thread's lifetime; call it without holding a lock.
    void start();

    Slot enter();
    void job_started(Slot slot);
    void job_ended(Slot slot);
    void leave(Slot slot);

private:
    using Clock = std::chrono::steady_clock;
    struct Worker {
        pid_t tid = 0;                         // 0 once the thread has left
        clockid_t cpu_clock{};                 // the thread's CPU-time clock, if has_cpu_clock
        bool has_cpu_clock = false;
        Clock::time_point started;             // the current job's start
        std::int64_t cpu_at_start = 0;         // the thread's CPU time then, in ns
        Clock::time_point look_at = Clock::time_point::max();  // max: no job, or already demoted
        bool demoted = false;                  // at SCHED_IDLE for its current job
    };

    void supervisor_main();
    // CPU time the worker's current job has left before demotion; 0 or less: demote.
    std::chrono::nanoseconds cpu_left(const Worker& worker) const;
    void report_refusal(const char* what, int error);  // logs the first refusal only

    const WorkerScheduling scheduling_;
    bool demotes_ = false;  // adaptive, and threads may leave SCHED_IDLE; set by start() before any worker exists

    mutable boost::mutex mutex_;
    boost::condition_variable wake_;  // an earlier deadline, or stop
    std::vector<Worker> workers_;     // guarded by mutex_; indexed by Slot
    Clock::time_point wakes_at_ = Clock::time_point::max();  // guarded by mutex_; the supervisor's next wake
    bool stop_ = false;               // guarded by mutex_
    bool refusal_reported_ = false;   // guarded by mutex_
    boost::thread supervisor_;        // last: started once the members above exist
};

}  // namespace detail
}  // namespace fcgihost
