// JobQueue: the tracked set of background workers that runs the work handlers defer.
//
// Contract:
// - queue() never blocks on a job and never drops one silently: it returns accepted,
//   full (capacity reached) or stopping (closed for shutdown), and every rejection is
//   counted and logged.
// - Jobs run on the queue's own worker threads, oldest first. How a job ends decides how it
//   is counted (see cancellation.hpp): completed; failed if it throws (anything, std::exception
//   or not; logged with its name); cancelled if it throws JobCancelled, or ends in any way
//   after cancel() reached it. No exception ever leaves a worker thread.
// - A job gets a CancellationToken (see cancellation.hpp) and must capture what it needs by
//   value: the request it came from is gone once the handler returns.
// - A job whose captures throw while being destroyed (after it ran, when cancel() or the
//   destructor drops it unstarted, when queue() refuses it) is logged and counted in
//   destroy_errors; it is otherwise counted as it ended (a job that ran to its end is still
//   completed). The exception goes no further.
// - The drain is driven from outside (ShutdownSequence) with the steps below, in this order:
//   request_stop(), close(), wait_idle_until(), cancel(), wait_idle_until(), abandon_rest().
#pragma once

#include "fcgihost/counts.hpp"
#include "fcgihost/background_queue.hpp"
#include "fcgihost/cancellation.hpp"
#include "jobs/worker_scheduler.hpp"

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/lock_guard.hpp>
#include <boost/thread/mutex.hpp>
#include <boost/thread/thread.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fcgihost {

namespace detail {
class AsyncRunner;
struct AsyncCore;
enum class AsyncEnd;
}  // namespace detail

// How the kernel schedules worker threads against request threads (worker_scheduler.hpp):
//  normal    as any thread;
//  batch     a woken worker does not preempt the request thread that woke it;
//  idle      workers run only on CPU time no other thread wants (SCHED_IDLE): a CPU-bound
//            job then adds almost nothing to request latency, but jobs also get almost no
//            CPU while anything else on the machine keeps every core busy;
//  adaptive  batch, until a job has used worker_demote_after of CPU time: then idle for
//            the rest of that job (default). Short jobs keep their share of a busy
//            machine; long CPU-bound ones stop competing with requests.
struct JobQueueOptions {
    std::size_t capacity = 1024;  // jobs waiting to start (running ones do not count)
    unsigned workers = 2;         // worker threads
    int worker_nice = 10;         // added to each worker thread's nice value; 0 keeps it
    WorkerPolicy worker_policy = WorkerPolicy::adaptive;
    std::chrono::milliseconds worker_demote_after{50};  // adaptive only: CPU time
    std::size_t async_capacity = 16384;  // asynchronous jobs pending at once
};

enum class WaitResult { idle, deadline, interrupted };

class JobQueue : public BackgroundQueue {
public:
    JobQueue(const JobQueue&) = delete;
    JobQueue& operator=(const JobQueue&) = delete;

    explicit JobQueue(JobQueueOptions options = {});
    // Cancels what is left and joins the workers if they are still running; jobs that do
    // not return keep the destructor waiting, so drain first where that matters. Jobs no
    // worker took are destroyed unrun.
    ~JobQueue();

    // Starts the worker threads. Jobs queued before start() wait for it.
    void start();

    QueueResult queue(std::string name, Job job) override;
    // Starts `job` on the queue's I/O thread (async_job.hpp); it counts as running until its
    // context says how it ended. Refused (full) past async_capacity pending jobs.
    QueueResult queue_async(std::string name, AsyncJob job) override;

    JobCounts counts() const;
    CancellationToken token() const;

    // Drain steps.
    void request_stop();  // tokens report stopping(); jobs are still accepted
    void close();         // from now on queue() returns stopping
    // Waits until nothing is queued or running or the deadline passes. `step` names the
    // drain step the wait belongs to (1: until the drain deadline, 2: the cancel grace);
    // once interrupt_wait() has recorded a skip through that step, the wait returns
    // interrupted, whether the skip came before the wait or during it. Step 0: no skip
    // ends the wait.
    WaitResult wait_idle_until(std::chrono::steady_clock::time_point deadline, unsigned step = 0);
    // Records that drain steps up to `through_step` are skipped (Ctrl-C); it never goes back.
    void interrupt_wait(unsigned through_step);
    // Tokens report cancelled(); jobs not yet started are removed and counted abandoned.
    // Returns their names.
    std::vector<std::string> cancel();
    // Jobs still running are counted abandoned (they cannot be stopped from outside);
    // returns their names. Workers are left running: the caller is about to exit.
    std::vector<std::string> abandon_rest();
    // Names of the jobs that returned after cancel() while running (counted cancelled).
    std::vector<std::string> cancelled_names() const;

private:
    struct Entry {
        std::uint64_t id;
        std::string name;
        Job job;
    };
    struct Running {
        std::string name;            // a blocking job's; an asynchronous one's is in its core
        bool was_cancelled = false;  // cancel() happened while it ran
        bool abandoned = false;      // already counted by abandon_rest()
        // An asynchronous job's state, pending on the I/O thread (null for a blocking job):
        // how cancel() reaches its callbacks. It does not keep the job running.
        std::shared_ptr<detail::AsyncCore> core = nullptr;
        const std::string& name_of() const;
    };

    struct AsyncStart {
        std::shared_ptr<detail::AsyncCore> core;
        AsyncJob job;
    };

    void worker_main();
    void run_one(Entry& entry);
    // Destroys `job` outside the lock; true if its captures threw (logged here).
    static bool destroy(Job& job, const std::string& name, const char* when);
    void count_destroy_errors(std::uint64_t n);
    void start_waiting_async();  // I/O thread: starts every job in async_starts_
    void async_ended(std::uint64_t id, const std::string& name, detail::AsyncEnd end, const std::string& why);
    void count_async_end_locked(std::map<std::uint64_t, Running>::iterator it, bool cancelled, detail::AsyncEnd end);
    bool idle_locked() const { return waiting_.empty() && running_.empty(); }

    const JobQueueOptions options_;
    CancellationSource source_;
    detail::WorkerScheduler scheduler_;  // outlives workers_, which report to it
    boost::thread_group workers_;

    mutable boost::mutex mutex_;
    boost::condition_variable work_ready_;   // a job was queued or workers must exit
    boost::condition_variable state_changed_;  // a job ended or a wait was interrupted
    std::deque<Entry> waiting_;              // guarded by mutex_
    std::map<std::uint64_t, Running> running_;  // guarded by mutex_
    std::uint64_t next_id_ = 1;              // guarded by mutex_
    bool closed_ = false;                    // guarded by mutex_
    bool exit_workers_ = false;              // guarded by mutex_
    bool started_ = false;                   // guarded by mutex_
    unsigned skipped_through_ = 0;           // guarded by mutex_; drain steps a Ctrl-C skipped
    JobCounts counts_;                       // guarded by mutex_ (queued/running derived)
    std::vector<std::string> cancelled_names_;  // guarded by mutex_
    std::size_t async_running_ = 0;          // guarded by mutex_
    std::vector<AsyncStart> async_starts_;   // guarded by mutex_; accepted, not yet taken by the I/O thread
    // Last: destroyed first, while the state its pending jobs report to is still alive.
    std::unique_ptr<detail::AsyncRunner> async_;
};

}  // namespace fcgihost
