// A JobStore that forwards to a real one, except that complete() can be made to fail (as
// on a full disk) or to wait until the test lets it go: for the batched completion path.
#pragma once

#include "durable/job_store.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>

namespace fcgihost {
namespace testing_support {

class GatedJobStore : public JobStore {
public:
    explicit GatedJobStore(std::unique_ptr<JobStore> inner) : inner_(std::move(inner)) {}

    void fail_completes(bool on) {
        std::lock_guard<std::mutex> lock(mutex_);
        fail_ = on;
    }
    void hold_completes(bool on) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            hold_ = on;
        }
        changed_.notify_all();
    }
    std::size_t complete_calls() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return calls_;
    }
    std::size_t completed() const {  // jobs deleted through complete()
        std::lock_guard<std::mutex> lock(mutex_);
        return completed_;
    }

    std::size_t complete(const std::vector<std::int64_t>& ids, const JobOwner& owner) override {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            ++calls_;
            changed_.wait(lock, [&] { return !hold_; });
            if (fail_) throw StoreError("database or disk is full (a test's failure)");
        }
        const std::size_t deleted = inner_->complete(ids, owner);
        std::lock_guard<std::mutex> lock(mutex_);
        completed_ += deleted;
        return deleted;
    }

    std::vector<EnqueueResult> enqueue_batch(const std::vector<NewJob>& jobs) override {
        return inner_->enqueue_batch(jobs);
    }
    std::vector<DurableJob> claim(std::size_t limit, const std::vector<std::string>& kinds, const JobOwner& owner,
                                  std::chrono::milliseconds lease) override {
        return inner_->claim(limit, kinds, owner, lease);
    }
    bool fail(std::int64_t id, const JobOwner& owner, const std::string& error,
              std::chrono::milliseconds retry_in) override {
        return inner_->fail(id, owner, error, retry_in);
    }
    void release(std::int64_t id, const JobOwner& owner) override { inner_->release(id, owner); }
    void renew(const JobOwner& owner, std::chrono::milliseconds lease) override { inner_->renew(owner, lease); }
    std::size_t rescue() override { return inner_->rescue(); }
    std::optional<std::int64_t> next_due(const std::vector<std::string>& kinds) override {
        return inner_->next_due(kinds);
    }
    void set_wakeup(std::function<void()> wake, std::chrono::milliseconds poll_interval) override {
        inner_->set_wakeup(std::move(wake), poll_interval);
    }
    StoredCounts counts() override { return inner_->counts(); }
    std::vector<StoredJob> list(std::optional<StoredState> state, std::size_t limit) override {
        return inner_->list(state, limit);
    }
    std::optional<StoredJob> show(std::int64_t id) override { return inner_->show(id); }
    bool retry_dead(std::int64_t id) override { return inner_->retry_dead(id); }
    bool remove(std::int64_t id) override { return inner_->remove(id); }

    // Lets held completes go at the end of a scope, also when an assertion throws: declare it
    // after whatever would wait for them on destruction.
    struct Unhold {
        GatedJobStore& store;
        ~Unhold() { store.hold_completes(false); }
    };

private:
    const std::unique_ptr<JobStore> inner_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;  // hold_ went off
    bool fail_ = false;                // guarded by mutex_
    bool hold_ = false;                // guarded by mutex_
    std::size_t calls_ = 0;            // guarded by mutex_
    std::size_t completed_ = 0;        // guarded by mutex_
};

}  // namespace testing_support
}  // namespace fcgihost
