// EnqueueBatcher: group commit. Request threads hand their job to one writer thread and
// wait; the writer takes every job waiting at that moment and commits them in one
// transaction, so N concurrent enqueues cost one fsync instead of N.
#pragma once

#include "durable/batch_writer.hpp"
#include "durable/job_store.hpp"

#include <functional>
#include <future>

namespace fcgihost {
namespace durable {

class EnqueueBatcher {
public:
    EnqueueBatcher(const EnqueueBatcher&) = delete;
    EnqueueBatcher& operator=(const EnqueueBatcher&) = delete;

    // `on_commit` runs on the writer thread after each committed batch.
    EnqueueBatcher(JobStore& store, std::size_t capacity, std::function<void()> on_commit);
    // The destructor commits what is waiting, then joins the writer.

    // Blocks until committed; full when `capacity` jobs already wait for the writer;
    // store_error (with the store's message) when the batch's transaction failed.
    EnqueueResult submit(NewJob job);

private:
    struct Pending {
        NewJob job;
        std::promise<EnqueueResult> result;
    };
    void write(std::vector<Pending>& batch);

    JobStore& store_;
    const std::size_t capacity_;
    const std::function<void()> on_commit_;
    BatchWriter<Pending> writer_;  // last: its thread calls write() at once
};

}  // namespace durable
}  // namespace fcgihost
