#include "fcgihost/testing_durable.hpp"

namespace fcgihost {
namespace testing {

EnqueueResult ManualDurableQueue::enqueue(const std::string& kind, std::string payload, const EnqueueOptions& options) {
    EnqueueResult r;
    if (kinds_.find(kind) == kinds_.end()) {
        r.status = EnqueueStatus::unknown_kind;
        return r;
    }
    if (payload.size() > kMaxDurablePayload) {
        r.status = EnqueueStatus::too_large;
        return r;
    }
    if (stopping_) {
        r.status = EnqueueStatus::stopping;
        return r;
    }
    if (!options.unique_key.empty()) {
        for (const Entry& e : waiting_) {
            if (e.options.unique_key == options.unique_key) {
                r.status = EnqueueStatus::duplicate;
                r.id = e.job.id;
                return r;
            }
        }
    }
    Entry entry{DurableJob{next_id_++, kind, std::move(payload), 1}, options};
    r.status = EnqueueStatus::accepted;
    r.id = entry.job.id;
    waiting_.push_back(std::move(entry));
    return r;
}

std::vector<std::string> ManualDurableQueue::kinds() const {
    std::vector<std::string> out;
    for (const Entry& e : waiting_) out.push_back(e.job.kind);
    return out;
}

bool ManualDurableQueue::run_next() {
    if (waiting_.empty()) return false;
    Entry entry = std::move(waiting_.front());
    waiting_.pop_front();
    try {
        kinds_.at(entry.job.kind)(entry.job, tokens_.token());
    } catch (...) {
        ++failures_;
        const unsigned max = entry.options.max_attempts == 0 ? 20 : entry.options.max_attempts;
        if (entry.job.attempt >= max) {
            dead_.push_back(std::move(entry));
        } else {
            ++entry.job.attempt;
            waiting_.push_back(std::move(entry));
        }
        throw;
    }
    return true;
}

std::size_t ManualDurableQueue::run_all(std::size_t max_runs) {
    std::size_t runs = 0;
    while (runs < max_runs && !waiting_.empty()) {
        ++runs;
        try {
            run_next();
        } catch (...) {
            // counted in failures_; the job is back in waiting_ or dead_
        }
    }
    return runs;
}

}  // namespace testing
}  // namespace fcgihost
