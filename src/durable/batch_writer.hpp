// BatchWriter<T>: the group-commit mechanism both batchers share. Callers hand items over
// and go on (or wait on something of their own); one writer thread takes every item waiting
// at that moment, up to kMaxBatch, and passes them to `write` as one batch, so N callers
// cost one transaction instead of N.
//
// `write` runs on the writer thread and must not throw. Destruction lets the writer take
// what was handed over, then joins it. Declare a BatchWriter as its owner's last member:
// the thread starts in its constructor and may call `write`, which uses the owner's other
// members, at once.
#pragma once

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/lock_guard.hpp>
#include <boost/thread/mutex.hpp>
#include <boost/thread/thread.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <limits>
#include <vector>

namespace fcgihost {
namespace durable {

template <typename T>
class BatchWriter {
public:
    using Write = std::function<void(std::vector<T>& batch)>;

    BatchWriter(const BatchWriter&) = delete;
    BatchWriter& operator=(const BatchWriter&) = delete;

    explicit BatchWriter(Write write) : write_(std::move(write)), thread_([this] { run(); }) {}

    ~BatchWriter() {
        {
            boost::lock_guard<boost::mutex> lock(mutex_);
            exit_ = true;
        }
        ready_.notify_all();
        thread_.join();
    }

    // Hands `item` to the writer; false (and `item` dropped) if `limit` items already wait.
    bool push(T item, std::size_t limit = std::numeric_limits<std::size_t>::max()) {
        {
            boost::lock_guard<boost::mutex> lock(mutex_);
            if (pending_.size() >= limit) return false;
            pending_.push_back(std::move(item));
        }
        ready_.notify_one();
        return true;
    }

private:
    // Bounds one transaction, so a burst does not hold the store's write lock for long.
    static constexpr std::size_t kMaxBatch = 512;

    void run() {
        for (;;) {
            std::vector<T> batch;
            {
                boost::unique_lock<boost::mutex> lock(mutex_);
                while (pending_.empty() && !exit_) ready_.wait(lock);
                if (pending_.empty()) return;  // exit_ with nothing left to write
                while (!pending_.empty() && batch.size() < kMaxBatch) {
                    batch.push_back(std::move(pending_.front()));
                    pending_.pop_front();
                }
            }
            write_(batch);
        }
    }

    const Write write_;
    boost::mutex mutex_;
    boost::condition_variable ready_;  // an item arrived or the writer must exit
    std::deque<T> pending_;            // guarded by mutex_
    bool exit_ = false;                // guarded by mutex_
    boost::thread thread_;             // last: starts once the members above exist
};

}  // namespace durable
}  // namespace fcgihost
