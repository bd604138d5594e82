// DESIGN
// One mutex guards the FIFO of waiting jobs, the table of running ones and the counters.
// Workers sleep on work_ready_; whoever waits for the drain sleeps on state_changed_, which
// is notified whenever a job ends, so the drain returns as soon as the last job does
// rather than at the next tick of a timer. Jobs run outside the lock.
//
// Shutdown never stops a thread from outside: cancel() only flips the tokens and empties
// the FIFO; a job that ignores its token keeps its worker until the process exits, and
// abandon_rest() is how the caller records that before it does.
//
// A job object dies outside the lock and inside a try (destroy()), wherever it dies: its
// captures' destructors may block, and may throw.
#include "jobs/job_queue.hpp"

#include "base/steady_wait.hpp"
#include "fcgihost/log.hpp"
#include "jobs/async_runner.hpp"

#include <exception>

namespace fcgihost {

JobQueue::JobQueue(JobQueueOptions options)
    : options_(options),
      scheduler_(detail::WorkerScheduling{options.worker_nice, options.worker_policy, options.worker_demote_after}),
      async_(new detail::AsyncRunner([this](std::uint64_t id, const std::string& name, detail::AsyncEnd end,
                                            const std::string& why) { async_ended(id, name, end, why); })) {
    counts_.capacity = options_.capacity;
}

JobQueue::~JobQueue() {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        closed_ = true;
        exit_workers_ = true;
    }
    source_.cancel();
    work_ready_.notify_all();
    workers_.join_all();
    // Pending asynchronous jobs die with the runner's io_context and report here, so it
    // goes while the counters still exist.
    async_.reset();
    // Jobs left when no worker ever started; the workers are gone, so no lock is needed.
    for (Entry& entry : waiting_) destroy(entry.job, entry.name, "dropped unstarted");
}

bool JobQueue::destroy(Job& job, const std::string& name, const char* when) {
    try {
        job.reset();
        return false;
    } catch (const std::exception& e) {
        log_error("job ", name, " (", when, "): its captures threw while being destroyed: ", e.what());
    } catch (...) {
        log_error("job ", name, " (", when, "): its captures threw while being destroyed: exception of unknown type");
    }
    return true;
}

void JobQueue::count_destroy_errors(std::uint64_t n) {
    if (n == 0) return;
    boost::lock_guard<boost::mutex> lock(mutex_);
    counts_.destroy_errors += n;
}

void JobQueue::start() {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (started_) return;
        started_ = true;
    }
    // Outside the lock: it may wait for a probe thread. Before the workers: they use it.
    if (options_.workers > 0) scheduler_.start();
    boost::lock_guard<boost::mutex> lock(mutex_);
    async_->start();
    for (unsigned i = 0; i < options_.workers; ++i) {
        workers_.create_thread([this] { worker_main(); });
    }
}

QueueResult JobQueue::queue(std::string name, Job job) {
    QueueResult result;
    std::size_t depth = 0;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (options_.workers == 0) {
            result = QueueResult::no_workers;
            ++counts_.rejected_no_workers;
        } else if (closed_) {
            result = QueueResult::stopping;
            ++counts_.rejected_stopping;
        } else if (waiting_.size() >= options_.capacity) {
            result = QueueResult::full;
            ++counts_.rejected_full;
            depth = waiting_.size();
        } else {
            result = QueueResult::accepted;
            waiting_.push_back(Entry{next_id_++, name, std::move(job)});
            ++counts_.accepted;
            if (waiting_.size() > counts_.high_water) counts_.high_water = waiting_.size();
        }
    }
    if (result == QueueResult::accepted) {
        work_ready_.notify_one();
        return result;
    }
    if (result == QueueResult::no_workers) {
        log_warn("job ", name, " rejected: --workers 0, this process runs no background jobs");
    } else if (result == QueueResult::full) {
        log_warn("job ", name, " rejected: queue full (", depth, " waiting)");
    } else {
        log_warn("job ", name, " rejected: shutting down");
    }
    count_destroy_errors(destroy(job, name, "refused") ? 1 : 0);
    return result;
}

JobCounts JobQueue::counts() const {
    boost::lock_guard<boost::mutex> lock(mutex_);
    JobCounts snapshot = counts_;
    snapshot.queued = waiting_.size();
    snapshot.running = running_.size();
    snapshot.async_running = async_running_;
    return snapshot;
}

CancellationToken JobQueue::token() const { return source_.token(); }

void JobQueue::worker_main() {
    const detail::WorkerScheduler::Slot slot = scheduler_.enter();
    for (;;) {
        Entry entry;
        {
            boost::unique_lock<boost::mutex> lock(mutex_);
            while (waiting_.empty() && !exit_workers_) work_ready_.wait(lock);
            if (waiting_.empty()) break;
            entry = std::move(waiting_.front());
            waiting_.pop_front();
            running_.emplace(entry.id, Running{entry.name});
        }
        scheduler_.job_started(slot);
        run_one(entry);
        scheduler_.job_ended(slot);
    }
    scheduler_.leave(slot);
}

void JobQueue::run_one(Entry& entry) {
    bool gave_up = false;
    bool threw = false;
    std::string error;
    try {
        entry.job(source_.token());
    } catch (const JobCancelled&) {
        gave_up = true;
    } catch (const std::exception& e) {
        threw = true;
        error = e.what();
    } catch (...) {
        threw = true;
        error = "exception of unknown type";
    }
    // The job's captures may own resources whose destructors belong to this worker, not
    // to the lock below.
    const bool destroy_error = destroy(entry.job, entry.name, "after its run");
    bool cancelled = gave_up;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        auto it = running_.find(entry.id);
        cancelled = cancelled || (it != running_.end() && it->second.was_cancelled);
    }
    // Logged before it is counted: whoever sees the count in /status finds the line already.
    // A cancel() between here and the count finds the job already ended: as logged, it is
    // not counted cancelled.
    if (gave_up) {
        log_warn("job ", entry.name, " gave up (JobCancelled): counted cancelled");
    } else if (threw && cancelled) {
        log_warn("job ", entry.name, " ended by an exception after its cancel (counted cancelled): ", error);
    } else if (threw) {
        log_error("job ", entry.name, " failed: ", error);
    }
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (destroy_error) ++counts_.destroy_errors;
        auto it = running_.find(entry.id);
        if (it != running_.end()) {
            if (!it->second.abandoned) {
                if (cancelled) {
                    ++counts_.cancelled;
                    cancelled_names_.push_back(entry.name);
                } else if (threw) {
                    ++counts_.failed;
                } else {
                    ++counts_.completed;
                }
            }
            running_.erase(it);
        }
    }
    state_changed_.notify_all();
}

void JobQueue::request_stop() { source_.request_stop(); }

void JobQueue::close() {
    boost::lock_guard<boost::mutex> lock(mutex_);
    closed_ = true;
}

WaitResult JobQueue::wait_idle_until(std::chrono::steady_clock::time_point deadline, unsigned step) {
    boost::unique_lock<boost::mutex> lock(mutex_);
    for (;;) {
        if (idle_locked()) return WaitResult::idle;
        if (step != 0 && skipped_through_ >= step) return WaitResult::interrupted;
        if (std::chrono::steady_clock::now() >= deadline) return WaitResult::deadline;
        detail::wait_until(state_changed_, lock, deadline);
    }
}

void JobQueue::interrupt_wait(unsigned through_step) {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (through_step > skipped_through_) skipped_through_ = through_step;
    }
    state_changed_.notify_all();
}

const std::string& JobQueue::Running::name_of() const { return core ? core->name : name; }

std::vector<std::string> JobQueue::cancel() {
    std::vector<std::string> names;
    std::deque<Entry> dropped;
    std::vector<std::shared_ptr<detail::AsyncCore>> async_cores;  // their callbacks fire on the I/O thread
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        closed_ = true;
        for (auto& running : running_) {
            running.second.was_cancelled = true;
            if (running.second.core) async_cores.push_back(running.second.core);
        }
        dropped.swap(waiting_);
        counts_.abandoned += dropped.size();
        for (const Entry& entry : dropped) names.push_back(entry.name);
    }
    source_.cancel();
    async_->cancel(std::move(async_cores));
    state_changed_.notify_all();
    // Outside the lock: what the jobs captured may take time, or throw, to destroy.
    std::uint64_t destroy_errors = 0;
    for (Entry& entry : dropped) destroy_errors += destroy(entry.job, entry.name, "dropped unstarted") ? 1 : 0;
    count_destroy_errors(destroy_errors);
    return names;
}

std::vector<std::string> JobQueue::abandon_rest() {
    std::vector<std::string> names;
    boost::lock_guard<boost::mutex> lock(mutex_);
    for (auto& running : running_) {
        if (running.second.abandoned) continue;
        running.second.abandoned = true;
        ++counts_.abandoned;
        names.push_back(running.second.name_of());
    }
    return names;
}

std::vector<std::string> JobQueue::cancelled_names() const {
    boost::lock_guard<boost::mutex> lock(mutex_);
    return cancelled_names_;
}

}  // namespace fcgihost
