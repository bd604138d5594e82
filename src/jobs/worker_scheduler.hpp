// WorkerScheduler: how the kernel schedules the threads that run jobs (--worker-policy,
// --worker-nice, --worker-demote-after).
//
// Contract:
// - A worker thread calls enter() once before its first job, job_started() and
//   job_ended() around each job, and leave() before it returns. enter() applies the nice
//   increment and the policy's starting class to the calling thread.
// - adaptive: a job starts under SCHED_BATCH; once it has run for demote_after (wall
//   clock, from its start) its thread is moved to SCHED_IDLE, and job_ended() moves it
//   back to SCHED_BATCH before the worker takes another job.
// - The kernel lets a thread leave SCHED_IDLE only with CAP_SYS_NICE or an RLIMIT_NICE
//   that allows its nice value. start() checks that once with a throwaway thread; where it
//   is refused, adaptive workers stay at SCHED_BATCH (logged once at warn), so that no
//   worker is left at SCHED_IDLE for good.
// - Every scheduling call is a preference: a refusal is logged once and the thread runs on
//   as it was.
//
// DESIGN
// One supervisor thread (adaptive only) sleeps on a condition variable until the earliest
// "demote at" deadline of a running job: no polling, and no wake-up at all while no job
// runs. It demotes a thread under mutex_, the same mutex under which that worker clears its
// deadline at the end of the job and deregisters before it exits: a demotion can never
// reach a job that has ended, nor a thread id that is gone. Workers promote themselves
// back, outside the lock, after clearing their deadline (so nothing demotes them again
// before their next job starts).
#pragma once

#include "fcgihost/job.hpp"

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/mutex.hpp>
#include <boost/thread/thread.hpp>

#include <chrono>
#include <cstddef>
#include <sys/types.h>
#include <vector>

namespace fcgihost {
namespace detail {

struct WorkerScheduling {
    int nice = 10;  // added to each worker's nice value; 0 keeps it
    WorkerPolicy policy = WorkerPolicy::adaptive;
    std::chrono::milliseconds demote_after{50};  // adaptive: a job's time at SCHED_BATCH
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
    // Whether running jobs are demoted (adaptive, and the process may promote them back).
    bool demotes() const;

    Slot enter();
    void job_started(Slot slot);
    void job_ended(Slot slot);
    void leave(Slot slot);

private:
    using Clock = std::chrono::steady_clock;
    struct Worker {
        pid_t tid = 0;                         // 0 once the thread has left
        Clock::time_point demote_at = Clock::time_point::max();  // max: no job, or already demoted
        bool demoted = false;                  // at SCHED_IDLE for its current job
    };

    void supervisor_main();
    void report_refusal(const char* what, int error);  // logs the first refusal only

    const WorkerScheduling scheduling_;
    bool demotes_ = false;  // set by start() before any worker or the supervisor exists

    mutable boost::mutex mutex_;
    boost::condition_variable wake_;  // an earlier deadline, or stop
    std::vector<Worker> workers_;     // guarded by mutex_; indexed by Slot
    Clock::time_point wakes_at_ = Clock::time_point::max();  // guarded by mutex_; the supervisor's next look
    bool stop_ = false;               // guarded by mutex_
    bool refusal_reported_ = false;   // guarded by mutex_
    boost::thread supervisor_;        // last: started once the members above exist
};

}  // namespace detail
}  // namespace fcgihost
