// SqliteJobStore: the embedded JobStore, one SQLite file (--job-store PATH).
//
// DESIGN
// - WAL and synchronous=FULL for enqueues: a committed enqueue survives a power cut;
//   readers never block the writer. Claims and job ends commit without their own fsync
//   (they reach the disk with the next enqueue or checkpoint): a power cut can only undo
//   them, and an undone claim or end makes the job run again, as at-least-once allows.
// - Every write is one BEGIN IMMEDIATE transaction: a deferred transaction that reads and
//   then writes fails with SQLITE_BUSY at once whatever busy_timeout says.
// - Several processes may share the file. SQLite's busy handler polls with growing sleeps,
//   which made writers wait up to seconds under contention; so each write transaction is
//   also taken under flock() on PATH-lock, where the kernel queues the waiters and wakes
//   the next one as soon as the lock is free. busy_timeout (5 s) is the backstop against
//   writers that do not take the lock (the sqlite3 shell).
// - complete/fail/release touch a row only while it is running under the owner they are
//   given: after a rescue, the job is its new claimer's (another process on the file).
// - SQLite's automatic checkpoint would run inside COMMIT, under the write lock, and every
//   writer would wait for its copy and fsync; instead a connection whose commit left the WAL
//   at 1,000 frames or more runs a passive checkpoint after releasing the lock.
// - Connections come from a small pool, one per concurrent caller; the pool's mutex is
//   never held across a database call.
// - The schema's version is PRAGMA user_version; open() migrates older files and refuses
//   newer ones. Keep the file on a local disk: SQLite's locks do not hold on NFS.
#pragma once

#include "durable/job_store.hpp"

#include <boost/thread/mutex.hpp>

#include <memory>
#include <string>
#include <vector>

namespace fcgihost {

namespace durable { struct Connection; }

class SqliteJobStore : public JobStore {
public:
    SqliteJobStore(const SqliteJobStore&) = delete;
    SqliteJobStore& operator=(const SqliteJobStore&) = delete;

    // Opens (creating if needed) and migrates the store. Throws StoreError naming the path
    // if it is not a database, is newer than this build, or cannot be written.
    explicit SqliteJobStore(std::string path);
    ~SqliteJobStore() override;

    std::vector<EnqueueResult> enqueue_batch(const std::vector<NewJob>& jobs) override;
    std::vector<DurableJob> claim(std::size_t limit, const std::vector<std::string>& kinds, const JobOwner& owner,
                                  std::chrono::milliseconds lease) override;
    std::size_t complete(const std::vector<std::int64_t>& ids, const JobOwner& owner) override;
    bool fail(std::int64_t id, const JobOwner& owner, const std::string& error,
              std::chrono::milliseconds retry_in) override;
    void release(std::int64_t id, const JobOwner& owner) override;
    void renew(const JobOwner& owner, std::chrono::milliseconds lease) override;
    std::size_t rescue() override;
    std::optional<std::int64_t> next_due(const std::vector<std::string>& kinds) override;
    StoredCounts counts() override;
    std::vector<StoredJob> list(std::optional<StoredState> state, std::size_t limit) override;
    std::optional<StoredJob> show(std::int64_t id) override;
    bool retry_dead(std::int64_t id) override;
    bool remove(std::int64_t id) override;

    static constexpr int kSchemaVersion = 1;

private:
    class Lease;  // a pooled connection, returned on destruction
    std::unique_ptr<durable::Connection> open_connection() const;

    const std::string path_;
    mutable boost::mutex pool_mutex_;
    mutable std::vector<std::unique_ptr<durable::Connection>> idle_;  // guarded by pool_mutex_
};

}  // namespace fcgihost
