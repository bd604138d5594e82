// DESIGN
// One mutex guards the FIFO of waiting jobs, the table of running ones and the counters.
// Workers sleep on work_ready_; whoever waits for the drain sleeps on state_changed_, which
// is notified whenever a job ends, so the drain returns as soon as the last job does
// rather than at the next tick of a timer. Jobs run outside the lock.
//
// Shutdown never stops a thread from outside: cancel() only flips the tokens and empties
// the FIFO; a job that ignores its token keeps its worker until the process exits, and
// abandon_rest() is how the caller records that before it does.
#include "fcgihost/job_queue.hpp"

#include "fcgihost/log.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <exception>

namespace fcgihost {

JobQueue::JobQueue(JobQueueOptions options) : options_(options) {
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
}

void JobQueue::start() {
    boost::lock_guard<boost::mutex> lock(mutex_);
    if (started_) return;
    started_ = true;
    for (unsigned i = 0; i < options_.workers; ++i) {
        workers_.create_thread([this] { worker_main(); });
    }
}

QueueResult JobQueue::queue(std::string name, Job job) {
    QueueResult result;
    std::size_t depth = 0;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (closed_) {
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
    } else if (result == QueueResult::full) {
        log_warn("job ", name, " rejected: queue full (", depth, " waiting)");
    } else {
        log_warn("job ", name, " rejected: shutting down");
    }
    return result;
}

JobCounts JobQueue::counts() const {
    boost::lock_guard<boost::mutex> lock(mutex_);
    JobCounts snapshot = counts_;
    snapshot.queued = waiting_.size();
    snapshot.running = running_.size();
    return snapshot;
}

CancellationToken JobQueue::token() const { return source_.token(); }

void JobQueue::worker_main() {
    // Linux applies nice and the policy per thread when given the thread id. Under
    // SCHED_BATCH a worker that wakes (a new job, the end of a sleep) does not preempt the
    // request thread that woke it: about 10% more /work throughput in an interleaved A/B
    // run behind nginx. Failures leave the worker as it was: these are preferences.
    const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
    if (options_.worker_nice != 0) {
        const int base = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
        setpriority(PRIO_PROCESS, static_cast<id_t>(tid), base + options_.worker_nice);
    }
    if (options_.worker_policy != WorkerPolicy::normal) {
        sched_param param{};
        sched_setscheduler(tid, options_.worker_policy == WorkerPolicy::idle ? SCHED_IDLE : SCHED_BATCH, &param);
    }
    for (;;) {
        Entry entry;
        {
            boost::unique_lock<boost::mutex> lock(mutex_);
            while (waiting_.empty() && !exit_workers_) work_ready_.wait(lock);
            if (waiting_.empty()) return;
            entry = std::move(waiting_.front());
            waiting_.pop_front();
            running_.emplace(entry.id, Running{entry.name});
        }
        run_one(entry);
    }
}

void JobQueue::run_one(Entry& entry) {
    bool failed = false;
    try {
        entry.job(source_.token());
    } catch (const std::exception& e) {
        failed = true;
        log_error("job ", entry.name, " failed: ", e.what());
    } catch (...) {
        failed = true;
        log_error("job ", entry.name, " failed: exception of unknown type");
    }
    // The job's captures may own resources whose destructors belong to this worker, not
    // to the lock below.
    entry.job = nullptr;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        auto it = running_.find(entry.id);
        if (it != running_.end()) {
            if (!it->second.abandoned) {
                if (failed) ++counts_.failed;
                else if (it->second.was_cancelled) {
                    ++counts_.cancelled;
                    cancelled_names_.push_back(entry.name);
                }
                else ++counts_.completed;
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

WaitResult JobQueue::wait_idle_until(std::chrono::steady_clock::time_point deadline) {
    boost::unique_lock<boost::mutex> lock(mutex_);
    const std::uint64_t interrupts_at_entry = interrupts_;
    for (;;) {
        if (idle_locked()) return WaitResult::idle;
        if (interrupts_ != interrupts_at_entry) return WaitResult::interrupted;
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return WaitResult::deadline;
        auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
        state_changed_.wait_for(lock, boost::chrono::microseconds(left.count()));
    }
}

void JobQueue::interrupt_wait() {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        ++interrupts_;
    }
    state_changed_.notify_all();
}

std::vector<std::string> JobQueue::cancel() {
    std::vector<std::string> names;
    std::deque<Entry> dropped;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        closed_ = true;
        for (auto& running : running_) running.second.was_cancelled = true;
        dropped.swap(waiting_);
        counts_.abandoned += dropped.size();
        for (const Entry& entry : dropped) names.push_back(entry.name);
    }
    source_.cancel();
    state_changed_.notify_all();
    return names;  // `dropped` (and what its jobs captured) is destroyed outside the lock
}

std::vector<std::string> JobQueue::abandon_rest() {
    std::vector<std::string> names;
    boost::lock_guard<boost::mutex> lock(mutex_);
    for (auto& running : running_) {
        if (running.second.abandoned) continue;
        running.second.abandoned = true;
        ++counts_.abandoned;
        names.push_back(running.second.name);
    }
    return names;
}

std::vector<std::string> JobQueue::cancelled_names() const {
    boost::lock_guard<boost::mutex> lock(mutex_);
    return cancelled_names_;
}

}  // namespace fcgihost
