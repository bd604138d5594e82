// ManualDurableQueue: the testing kit's DurableQueue. It records what handlers enqueue and
// runs the jobs on demand, on the calling thread, with the kinds the test registered.
//
//     fcgihost::testing::ManualDurableQueue durable;
//     durable.add_kind("mail", send_mail_job);
//     add_my_routes(router, durable);
//     run(router, RequestBuilder("GET", "/signup?user=ann"));
//     // durable.kinds() == {"mail"}; durable.run_all() runs it with attempt 1
// Not thread-safe: it is for single-threaded tests.
#pragma once

#include "fcgihost/durable_queue.hpp"

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace fcgihost {
namespace testing {

class ManualDurableQueue : public DurableQueue {
public:
    ManualDurableQueue(const ManualDurableQueue&) = delete;
    ManualDurableQueue& operator=(const ManualDurableQueue&) = delete;
    ManualDurableQueue() = default;

    void add_kind(const std::string& kind, DurableHandler handler) { kinds_[kind] = std::move(handler); }

    // unknown_kind, too_large, duplicate (a waiting job holds the key) or stopping after
    // set_stopping(true), as the real queue answers; else accepted with ids 1, 2, ...
    EnqueueResult enqueue(const std::string& kind, std::string payload, const EnqueueOptions& options = {}) override;

    struct Entry {
        DurableJob job;  // attempt counts this queue's failed runs
        EnqueueOptions options;
    };
    const std::deque<Entry>& waiting() const { return waiting_; }
    std::vector<std::string> kinds() const;  // of the waiting jobs, oldest first

    // Runs the oldest job. Returning removes it; an exception counts an attempt and puts it
    // back at the end (dead, and kept in dead(), past its max attempts) and reaches the
    // caller. Returns false if nothing was waiting.
    bool run_next();
    // Runs until nothing is waiting or `max_runs` runs; exceptions are swallowed (counted
    // in failures()). Returns how many runs there were.
    std::size_t run_all(std::size_t max_runs = 1000);

    const std::vector<Entry>& dead() const { return dead_; }
    std::size_t failures() const { return failures_; }
    void set_stopping(bool stopping) { stopping_ = stopping; }
    CancellationSource& tokens() { return tokens_; }

private:
    std::map<std::string, DurableHandler> kinds_;
    std::deque<Entry> waiting_;
    std::vector<Entry> dead_;
    std::int64_t next_id_ = 1;
    std::size_t failures_ = 0;
    bool stopping_ = false;
    CancellationSource tokens_;
};

}  // namespace testing
}  // namespace fcgihost
