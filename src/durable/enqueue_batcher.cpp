#include "durable/enqueue_batcher.hpp"

#include <boost/thread/lock_guard.hpp>

#include <vector>

namespace fcgihost {
namespace durable {
namespace {

// Bounds one transaction, so a burst does not hold the store's write lock for long.
constexpr std::size_t kMaxBatch = 512;

}  // namespace

EnqueueBatcher::EnqueueBatcher(JobStore& store, std::size_t capacity, std::function<void()> on_commit)
    : store_(store), capacity_(capacity), on_commit_(std::move(on_commit)), writer_([this] { writer_main(); }) {}

EnqueueBatcher::~EnqueueBatcher() {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        exit_ = true;
    }
    ready_.notify_all();
    writer_.join();
}

EnqueueResult EnqueueBatcher::submit(NewJob job) {
    std::future<EnqueueResult> result;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (pending_.size() >= capacity_) {
            EnqueueResult full;
            full.status = EnqueueStatus::full;
            return full;
        }
        pending_.push_back(Pending{std::move(job), {}});
        result = pending_.back().result.get_future();
    }
    ready_.notify_one();
    return result.get();
}

void EnqueueBatcher::writer_main() {
    for (;;) {
        std::vector<Pending> batch;
        {
            boost::unique_lock<boost::mutex> lock(mutex_);
            while (pending_.empty() && !exit_) ready_.wait(lock);
            if (pending_.empty()) return;  // exit_ with nothing left to commit
            while (!pending_.empty() && batch.size() < kMaxBatch) {
                batch.push_back(std::move(pending_.front()));
                pending_.pop_front();
            }
        }
        std::vector<NewJob> jobs;
        jobs.reserve(batch.size());
        for (const Pending& p : batch) jobs.push_back(p.job);
        std::vector<EnqueueResult> results;
        try {
            results = store_.enqueue_batch(jobs);
        } catch (const std::exception& e) {
            EnqueueResult failed;
            failed.status = EnqueueStatus::store_error;
            failed.message = e.what();
            results.assign(batch.size(), failed);
        }
        for (std::size_t i = 0; i < batch.size(); ++i) batch[i].result.set_value(results[i]);
        if (on_commit_) on_commit_();
    }
}

}  // namespace durable
}  // namespace fcgihost
