#include "durable/completion_batcher.hpp"

#include <boost/thread/lock_guard.hpp>

#include <vector>

namespace fcgihost {
namespace durable {
namespace {

// Bounds one transaction, so a burst does not hold the store's write lock for long.
constexpr std::size_t kMaxBatch = 512;

}  // namespace

CompletionBatcher::CompletionBatcher(JobStore& store, JobOwner owner, Committed on_commit, Failed on_error)
    : store_(store),
      owner_(std::move(owner)),
      on_commit_(std::move(on_commit)),
      on_error_(std::move(on_error)),
      writer_([this] { writer_main(); }) {}

CompletionBatcher::~CompletionBatcher() {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        exit_ = true;
    }
    ready_.notify_all();
    writer_.join();
}

void CompletionBatcher::submit(DurableJob job) {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        pending_.push_back(std::move(job));
    }
    ready_.notify_one();
}

void CompletionBatcher::writer_main() {
    for (;;) {
        std::vector<DurableJob> batch;
        {
            boost::unique_lock<boost::mutex> lock(mutex_);
            while (pending_.empty() && !exit_) ready_.wait(lock);
            if (pending_.empty()) return;  // exit_ with nothing left to commit
            while (!pending_.empty() && batch.size() < kMaxBatch) {
                batch.push_back(std::move(pending_.front()));
                pending_.pop_front();
            }
        }
        std::vector<std::int64_t> ids;
        ids.reserve(batch.size());
        for (const DurableJob& job : batch) ids.push_back(job.id);
        std::size_t ours = 0;
        std::string error;
        bool committed = false;
        try {
            ours = store_.complete(ids, owner_);
            committed = true;
        } catch (const std::exception& e) {
            error = e.what();
        }
        if (committed) on_commit_(batch, ours);
        else on_error_(batch, error);
    }
}

}  // namespace durable
}  // namespace fcgihost
