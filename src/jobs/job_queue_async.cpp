// JobQueue's asynchronous jobs: accepted and counted under the queue's one mutex like the
// blocking ones (an entry in running_ from acceptance to the end its context reports), but
// run by the AsyncRunner's I/O thread instead of a worker.
//
// Accepted jobs wait in async_starts_ (under the same lock that accepts them) and the I/O
// thread takes them in batches: one posted operation, one io_context lock and at most one
// wake-up per batch rather than per job.
#include "jobs/job_queue.hpp"

#include "jobs/async_runner.hpp"
#include "fcgihost/log.hpp"

namespace fcgihost {

QueueResult JobQueue::queue_async(std::string name, AsyncJob job) {
    QueueResult result = QueueResult::accepted;
    bool first_waiting = false;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (options_.workers == 0) {
            result = QueueResult::no_workers;  // as queue(): a web tier runs no background jobs
            ++counts_.rejected_no_workers;
        } else if (closed_) {
            result = QueueResult::stopping;
            ++counts_.rejected_stopping;
        } else if (async_running_ >= options_.async_capacity) {
            result = QueueResult::full;
            ++counts_.rejected_full;
        } else if (!job) {
            result = QueueResult::unsupported;
        } else {
            const std::uint64_t id = next_id_++;
            // The name moves into the core; the entry reads it from there (one string, not two).
            std::shared_ptr<detail::AsyncCore> core = async_->make_core(id, std::move(name), source_.token());
            Running running;
            running.core = core;
            running_.emplace(id, std::move(running));
            ++async_running_;
            ++counts_.accepted;
            first_waiting = async_starts_.empty();
            async_starts_.push_back(AsyncStart{std::move(core), std::move(job)});
        }
    }
    switch (result) {
        case QueueResult::accepted:
            // A batch already posted and not yet taken will start this job too.
            if (first_waiting) async_->post([this] { start_waiting_async(); });
            break;
        case QueueResult::full: log_warn("async job ", name, " rejected: ", options_.async_capacity, " already pending"); break;
        case QueueResult::stopping: log_warn("async job ", name, " rejected: shutting down"); break;
        case QueueResult::unsupported: log_error("async job ", name, " rejected: empty function"); break;
        case QueueResult::no_workers:
            log_warn("async job ", name, " rejected: --workers 0, this process runs no background jobs");
            break;
    }
    return result;
}

void JobQueue::start_waiting_async() {
    std::vector<AsyncStart> batch;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        batch.swap(async_starts_);
    }
    for (AsyncStart& waiting : batch) {
        // Each job dies right after its start, as it would in an operation of its own. Nothing
        // here throws, so no job of the batch is skipped: a handler's exception stops in
        // run_job_handler, and a capture throwing from its destructor inside a std::function
        // terminates the process wherever the job dies.
        AsyncStart start = std::move(waiting);
        detail::start_async_job(start.core, start.job);
    }
}

void JobQueue::async_ended(std::uint64_t id, const std::string& name, detail::AsyncEnd end, const std::string& why) {
    bool cancelled = end == detail::AsyncEnd::cancelled;
    bool counted = false;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        auto it = running_.find(id);
        if (it == running_.end()) return;
        cancelled = cancelled || it->second.was_cancelled;
        // An end with nothing to log (completed, or already abandoned) is counted in this one
        // critical section.
        if (it->second.abandoned || end == detail::AsyncEnd::completed) {
            count_async_end_locked(it, cancelled, end);
            counted = true;
        }
    }
    if (counted) {
        state_changed_.notify_all();
        return;
    }
    // Logged before it is counted, as for blocking jobs: whoever sees the count finds the line.
    if (end == detail::AsyncEnd::failed || end == detail::AsyncEnd::dropped) {
        if (cancelled) {
            log_warn("async job ", name, " ended after its cancel (counted cancelled): ", why);
        } else {
            log_error("async job ", name, " failed: ", why);
        }
    } else {
        log_warn("async job ", name, " ", why, ": counted cancelled");
    }
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        auto it = running_.find(id);
        if (it == running_.end()) return;
        count_async_end_locked(it, cancelled, end);
    }
    state_changed_.notify_all();
}

void JobQueue::count_async_end_locked(std::map<std::uint64_t, Running>::iterator it, bool cancelled,
                                      detail::AsyncEnd end) {
    if (!it->second.abandoned) {
        if (cancelled) {
            ++counts_.cancelled;
            cancelled_names_.push_back(it->second.name_of());
        } else if (end == detail::AsyncEnd::completed) {
            ++counts_.completed;
        } else {
            ++counts_.failed;
            if (end == detail::AsyncEnd::dropped) ++counts_.dropped;
        }
    }
    running_.erase(it);
    --async_running_;
}

}  // namespace fcgihost
