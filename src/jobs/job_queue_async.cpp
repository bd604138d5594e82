// JobQueue's asynchronous jobs: accepted and counted under the queue's one mutex like the
// blocking ones (an entry in running_ from acceptance to the end its context reports), but
// run by the AsyncRunner's I/O thread instead of a worker.
#include "jobs/job_queue.hpp"

#include "jobs/async_runner.hpp"
#include "fcgihost/log.hpp"

namespace fcgihost {

QueueResult JobQueue::queue_async(std::string name, AsyncJob job) {
    QueueResult result = QueueResult::accepted;
    std::uint64_t id = 0;
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
            id = next_id_++;
            Running running{name};
            running.async = true;
            running_.emplace(id, std::move(running));
            ++async_running_;
            ++counts_.accepted;
        }
    }
    switch (result) {
        case QueueResult::accepted: async_->start_job(id, std::move(name), source_.token(), std::move(job)); break;
        case QueueResult::full: log_warn("async job ", name, " rejected: ", options_.async_capacity, " already pending"); break;
        case QueueResult::stopping: log_warn("async job ", name, " rejected: shutting down"); break;
        case QueueResult::unsupported: log_error("async job ", name, " rejected: empty function"); break;
        case QueueResult::no_workers:
            log_warn("async job ", name, " rejected: --workers 0, this process runs no background jobs");
            break;
    }
    return result;
}

void JobQueue::async_ended(std::uint64_t id, const std::string& name, detail::AsyncEnd end, const std::string& why) {
    bool cancelled = end == detail::AsyncEnd::cancelled;
    bool counts = false;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        auto it = running_.find(id);
        if (it == running_.end()) return;
        cancelled = cancelled || it->second.was_cancelled;
        counts = !it->second.abandoned;
    }
    // Logged before it is counted, as for blocking jobs: whoever sees the count finds the line.
    if (counts && (end == detail::AsyncEnd::failed || end == detail::AsyncEnd::dropped)) {
        if (cancelled) {
            log_warn("async job ", name, " ended after its cancel (counted cancelled): ", why);
        } else {
            log_error("async job ", name, " failed: ", why);
        }
    } else if (counts && end == detail::AsyncEnd::cancelled) {
        log_warn("async job ", name, " ", why, ": counted cancelled");
    }
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        auto it = running_.find(id);
        if (it == running_.end()) return;
        if (!it->second.abandoned) {
            if (cancelled) {
                ++counts_.cancelled;
                cancelled_names_.push_back(name);
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
    state_changed_.notify_all();
}

}  // namespace fcgihost
