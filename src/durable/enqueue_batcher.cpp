#include "durable/enqueue_batcher.hpp"

#include <vector>

namespace fcgihost {
namespace durable {

EnqueueBatcher::EnqueueBatcher(JobStore& store, std::size_t capacity, std::function<void()> on_commit)
    : store_(store),
      capacity_(capacity),
      on_commit_(std::move(on_commit)),
      writer_([this](std::vector<Pending>& batch) { write(batch); }) {}

EnqueueResult EnqueueBatcher::submit(NewJob job) {
    Pending pending{std::move(job), {}};
    std::future<EnqueueResult> result = pending.result.get_future();
    if (!writer_.push(std::move(pending), capacity_)) {
        EnqueueResult full;
        full.status = EnqueueStatus::full;
        return full;
    }
    return result.get();
}

void EnqueueBatcher::write(std::vector<Pending>& batch) {
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

}  // namespace durable
}  // namespace fcgihost
