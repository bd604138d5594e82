#include "durable/completion_batcher.hpp"

#include <vector>

namespace fcgihost {
namespace durable {

CompletionBatcher::CompletionBatcher(JobStore& store, JobOwner owner, Committed on_commit, Failed on_error)
    : store_(store),
      owner_(std::move(owner)),
      on_commit_(std::move(on_commit)),
      on_error_(std::move(on_error)),
      writer_([this](std::vector<DurableJob>& batch) { write(batch); }) {}

void CompletionBatcher::submit(DurableJob job) { writer_.push(std::move(job)); }

void CompletionBatcher::write(std::vector<DurableJob>& batch) {
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

}  // namespace durable
}  // namespace fcgihost
