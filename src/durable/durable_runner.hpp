// DurableRunner: runs the durable jobs of one process. It is the host's DurableQueue
// (enqueue through group commit) and a DrainParticipant (the drain waits for it).
//
// DESIGN
// Threads: one batcher writer (enqueues), one dispatcher, `workers` worker threads (and,
// under the adaptive worker policy, the supervisor that demotes long jobs).
// The dispatcher is the only thread that claims: it asks the store for as many due jobs
// as there are idle workers, hands them over through ready_, and sleeps until a local
// enqueue commits, a job ends, the next job falls due, the store reports another process's
// enqueue (JobStore::set_wakeup: PostgreSQL's LISTEN), or a poll interval passes (the
// fallback, and the only way for processes sharing a SQLite file). Once a second it also frees the jobs of
// dead owners (rescue) and renews the lease on its own.
// Workers run a job outside every lock, then record its end in the store: failed (retried
// later, or dead) or released (it ended after its token was cancelled, which uses no
// attempt) at once; done through the completer, which deletes the jobs finished meanwhile
// in one transaction while the worker goes on. A done job counts as completed only once
// that commit is in, and the drain waits for it (completing_). An end the store cannot
// record (disk full) is logged, kept and retried by the dispatcher; until then the row
// stays running under this process, and if the process dies first the job runs again:
// at least once, never lost.
// Sources: durable_runner.cpp (start, enqueue, the dispatcher and worker threads),
// durable_runner_endings.cpp (a job's end, recorded in the store), durable_runner_drain.cpp
// (what the drain calls).
#pragma once

#include "durable/completion_batcher.hpp"
#include "durable/enqueue_batcher.hpp"

#include "jobs/drain_participant.hpp"
#include "jobs/worker_scheduler.hpp"
#include "fcgihost/durable_options.hpp"
#include "durable/job_store.hpp"

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/mutex.hpp>
#include <boost/thread/thread.hpp>

#include <deque>
#include <map>
#include <memory>

namespace fcgihost {
namespace durable {

struct RunCounts {
    std::uint64_t completed = 0, failed = 0, dead = 0, released = 0;
};

class DurableRunner : public DurableQueue, public DrainParticipant {
public:
    DurableRunner(const DurableRunner&) = delete;
    DurableRunner& operator=(const DurableRunner&) = delete;

    // `scheduling` is applied to the worker threads as JobQueue applies it to its own
    // (worker_scheduler.hpp); the default leaves them as they are.
    DurableRunner(std::unique_ptr<JobStore> store, DurableOptions options, unsigned workers,
                  std::size_t enqueue_capacity,
                  detail::WorkerScheduling scheduling = {0, WorkerPolicy::normal, std::chrono::milliseconds(50)});
    ~DurableRunner() override;  // stops and joins every thread; drain first

    void add_kind(const std::string& kind, DurableHandler handler);  // before start()
    void start();

    EnqueueResult enqueue(const std::string& kind, std::string payload, const EnqueueOptions& options) override;

    JobStore& store() { return *store_; }
    RunCounts run_counts() const;

    void request_stop() override;
    void close() override;
    WaitResult wait_idle_until(std::chrono::steady_clock::time_point deadline, unsigned step) override;
    void interrupt_wait(unsigned through_step) override;
    void cancel() override;
    bool finished() override;
    std::string summary() override;

private:
    enum class Outcome { completed, failed, released };
    struct Ending {
        DurableJob job;
        Outcome outcome;
        std::string error;
        std::chrono::milliseconds retry_in{0};
    };

    void dispatcher_main();
    void maintain();
    void worker_main();
    void run_one(const DurableJob& job);
    bool record(const Ending& ending);  // false if the store refused
    void completions_committed(const std::vector<DurableJob>& jobs, std::size_t ours);
    void completions_failed(const std::vector<DurableJob>& jobs, const std::string& message);
    std::chrono::milliseconds backoff(unsigned failed_attempt) const;
    bool idle_locked() const;

    const std::unique_ptr<JobStore> store_;
    const DurableOptions options_;
    const unsigned workers_count_;
    const JobOwner owner_;
    std::map<std::string, DurableHandler> kinds_;  // fixed once start() ran
    std::vector<std::string> kind_names_;          // fixed once start() ran
    CancellationSource source_;

    mutable boost::mutex mutex_;
    boost::condition_variable work_ready_;     // ready_ grew, or workers must exit
    boost::condition_variable dispatcher_wake_;  // wake_ set, a job ended, or exit
    boost::condition_variable state_changed_;  // something the drain waits on changed
    std::deque<DurableJob> ready_;             // guarded by mutex_; claimed, not started
    std::size_t running_ = 0;                  // guarded by mutex_
    std::size_t completing_ = 0;               // guarded by mutex_; done, handed to completer_
    bool wake_ = true;                         // guarded by mutex_; look for due jobs now
    bool nothing_due_ = false;                 // guarded by mutex_; last look found none
    bool closed_ = false;                      // guarded by mutex_
    bool stop_claiming_ = false;               // guarded by mutex_
    bool exit_ = false;                        // guarded by mutex_
    unsigned skipped_through_ = 0;             // guarded by mutex_; drain steps a Ctrl-C ended
    std::vector<Ending> unrecorded_;           // guarded by mutex_
    RunCounts counts_;                         // guarded by mutex_

    bool maintenance_fails_ = false;           // dispatcher thread only; logged once per run
    std::unique_ptr<EnqueueBatcher> batcher_;
    std::unique_ptr<CompletionBatcher> completer_;
    boost::thread dispatcher_;
    detail::WorkerScheduler scheduler_;  // outlives workers_, which report to it
    boost::thread_group workers_;
};

// The host's durable() when there is no --job-store: refuses every job with no_store.
std::unique_ptr<DurableQueue> no_store_queue();

}  // namespace durable
}  // namespace fcgihost
