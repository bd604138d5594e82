// EnqueueBatcher: group commit. Request threads hand their job to one writer thread and
// wait; the writer takes every job waiting at that moment and commits them in one
// transaction, so N concurrent enqueues cost one fsync instead of N.
#pragma once

#include "durable/job_store.hpp"

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/mutex.hpp>
#include <boost/thread/thread.hpp>

#include <deque>
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
    ~EnqueueBatcher();  // commits what is waiting, then joins the writer

    // Blocks until committed; full when `capacity` jobs already wait for the writer;
    // store_error (with the store's message) when the batch's transaction failed.
    EnqueueResult submit(NewJob job);

private:
    struct Pending {
        NewJob job;
        std::promise<EnqueueResult> result;
    };
    void writer_main();

    JobStore& store_;
    const std::size_t capacity_;
    const std::function<void()> on_commit_;

    boost::mutex mutex_;
    boost::condition_variable ready_;  // a job arrived or the writer must exit
    std::deque<Pending> pending_;      // guarded by mutex_
    bool exit_ = false;                // guarded by mutex_
    boost::thread writer_;
};

}  // namespace durable
}  // namespace fcgihost
