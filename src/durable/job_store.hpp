// JobStore: where durable jobs live between enqueue and completion. SqliteJobStore is the
// embedded implementation; a shared store for several hosts implements the same interface.
//
// Row life: enqueue -> waiting (scheduled while run_at is ahead) -> claim -> running (owned
// by one process, with a lease) -> complete (deleted) | fail (waiting again with a later
// run_at, "retrying", or dead past its last attempt) | release (waiting, no attempt used).
// A running row whose owner died, or whose lease ran out, is waiting again after rescue().
//
// Every method is thread-safe and either does all it says or nothing; failures throw
// StoreError with one line that says what the store said (set_wakeup excepted: see there).
#pragma once

#include "fcgihost/counts.hpp"
#include "fcgihost/durable_queue.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fcgihost {

struct StoreError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Who runs a claimed job: enough to tell, on the same host, whether it is still alive.
struct JobOwner {
    std::string host;    // hostname
    std::int64_t pid = 0;
    std::string start;   // boot id and process start time: a reused pid does not match
    static JobOwner self();
    bool operator==(const JobOwner& o) const { return host == o.host && pid == o.pid && start == o.start; }
};
// False when `owner` is on this host and its process is gone (or the pid was reused).
bool owner_alive_here(const JobOwner& owner);

struct NewJob {
    std::string kind;
    std::string payload;
    EnqueueOptions options;  // max_attempts already resolved (non-zero)
};

enum class StoredState { waiting, scheduled, running, retrying, dead };
const char* to_string(StoredState state);
std::optional<StoredState> parse_stored_state(const std::string& text);

struct StoredJob {
    DurableJob job;               // attempt = failures so far + 1
    StoredState state = StoredState::waiting;
    unsigned max_attempts = 0;
    int priority = 0;
    std::string unique_key;
    std::int64_t run_at_ms = 0;   // unix ms
    std::int64_t created_ms = 0;  // unix ms
    std::string last_error;
    JobOwner owner;               // running only
};

class JobStore {
public:
    virtual ~JobStore() = default;

    // One transaction for the batch; each job gets accepted (id) or duplicate (id of the
    // holder). A failed commit throws: then none of them is stored.
    virtual std::vector<EnqueueResult> enqueue_batch(const std::vector<NewJob>& jobs) = 0;
    // Marks up to `limit` due waiting jobs of the given kinds running for `owner`.
    virtual std::vector<DurableJob> claim(std::size_t limit, const std::vector<std::string>& kinds,
                                          const JobOwner& owner, std::chrono::milliseconds lease) = 0;
    // complete, fail and release end a job only while its row is still running under `owner`:
    // a job whose claim ran out and was rescued (and perhaps claimed by another process)
    // belongs to its new owner, and a late end from the old one changes nothing.
    //
    // Deletes those of `ids` still running under `owner`, in one transaction; returns how
    // many. A failed commit throws: then none of them is deleted.
    virtual std::size_t complete(const std::vector<std::int64_t>& ids, const JobOwner& owner) = 0;
    // Counts a failed attempt; dead past max_attempts, else waiting again after `retry_in`.
    // Returns true if the job is dead now.
    virtual bool fail(std::int64_t id, const JobOwner& owner, const std::string& error,
                      std::chrono::milliseconds retry_in) = 0;
    virtual void release(std::int64_t id, const JobOwner& owner) = 0;  // back to waiting; no attempt used
    virtual void renew(const JobOwner& owner, std::chrono::milliseconds lease) = 0;
    // Frees rows of owners that are dead (same host) or whose lease ran out; returns how many.
    virtual std::size_t rescue() = 0;
    // Earliest run_at among waiting jobs of these kinds (unix ms), if any.
    virtual std::optional<std::int64_t> next_due(const std::vector<std::string>& kinds) = 0;

    // Wake-ups from other processes sharing the store. Once set, `wake` is called from a
    // thread of the store's own soon after any process commits an enqueue, and once each
    // time the store (re)gains a way to hear of enqueues (some may have come unheard). It
    // must be quick and must not call into the store. A wake-up can be lost, and a store may
    // have none (the default: SQLite has no way to announce a commit to another process), so
    // the caller keeps polling every `poll_interval`; the store may name that interval in a
    // log line. An empty `wake` stops them: on return no call of the old one is running or
    // will run. Call it from one thread at a time; it throws nothing.
    virtual void set_wakeup(std::function<void()> wake, std::chrono::milliseconds poll_interval) {
        (void)wake;
        (void)poll_interval;
    }

    virtual StoredCounts counts() = 0;
    virtual std::vector<StoredJob> list(std::optional<StoredState> state, std::size_t limit) = 0;
    virtual std::optional<StoredJob> show(std::int64_t id) = 0;
    // Dead -> waiting, due now, attempts reset. False if no dead job has that id.
    virtual bool retry_dead(std::int64_t id) = 0;
    // Deletes a job that is not running. False if there is none.
    virtual bool remove(std::int64_t id) = 0;
};

std::int64_t unix_ms_now();

}  // namespace fcgihost
