// PgJobStore: the JobStore shared by several hosts, in PostgreSQL (--job-store
// postgresql://... or a libpq keyword string). open_job_store() picks it or SqliteJobStore.
// Sources: pg_job_store.cpp (opening, and what the runner calls), pg_job_store_schema.cpp
// (the tables and their migration), pg_job_store_admin.cpp (what operators call: counts,
// list, show, retry, delete).
//
// DESIGN
// - Tables fcgihost_jobs, fcgihost_processes and fcgihost_schema, created and migrated at
//   start inside one transaction under an advisory lock: processes starting together on an
//   empty database wait for each other instead of racing on CREATE TABLE.
// - Enqueue: INSERT ... ON CONFLICT on the unique key of waiting/running rows DO NOTHING,
//   and pg_notify in the same transaction, so a listener never hears of an uncommitted job.
// - Claim: one statement; a FOR UPDATE SKIP LOCKED CTE picks up to `limit` due rows ordered
//   by priority, run_at, id, so concurrent claimers never wait on or share a row. The same
//   statement refreshes this process's heartbeat.
// - complete/fail/release only touch a row still running under the owner they are given
//   (the JobStore contract); complete takes its ids as one bigint[] in one statement.
// - A claim that failed on a broken connection may have committed: PgClaimLedger remembers
//   the rows handed out, and the next rescue() frees those running here that it does not hold.
// - rescue(): at most one process per cycle does it (pg_try_advisory_xact_lock); it frees the
//   rows of owners whose heartbeat is older than kHeartbeatTimeout, whose lease ran out, or
//   that are dead on this host.
// - Times are the server's clock, so hosts with skewed clocks agree on due and stale.
// - Every connection has connect_timeout, statement_timeout and lock_timeout, and every
//   call a deadline of its own (PgConnection::kAnswerTimeout) for a server that stops
//   answering without closing the connection, so no call blocks a request thread for long
//   when the server is gone, frozen or a table is locked. A broken connection leaves the
//   pool; an idle one with input pending (the server's goodbye) is not reused; a call past
//   its deadline empties the pool and begins an outage. New connections go through
//   PgReconnect: during an outage one attempt per backoff step, the other calls fail at
//   once, one log line when it begins and one when it ends.
// - Wake-ups (set_wakeup): a PgListener thread LISTENs on kChannel on its own connection,
//   after proving with a self-NOTIFY probe that notifications arrive; else it logs that
//   wake-ups fall back to polling.
#pragma once

#include "durable/job_store.hpp"

#include <boost/thread/mutex.hpp>

#include <memory>
#include <string>
#include <vector>

namespace fcgihost {

namespace durable {
class PgClaimLedger;
class PgConnection;
class PgListener;
class PgReconnect;
}

class PgJobStore : public JobStore {
public:
    PgJobStore(const PgJobStore&) = delete;
    PgJobStore& operator=(const PgJobStore&) = delete;

    // Connects and migrates. Throws StoreError (naming the redacted conninfo) if the server
    // cannot be reached or its schema is newer than this build.
    struct Options {
        // Where the wake-up probe is sent; another channel than kChannel makes LISTEN look
        // deaf (tests of the fallback to polling).
        std::string probe_channel = kChannel;
        std::chrono::milliseconds probe_wait{2000};
    };
    explicit PgJobStore(std::string conninfo) : PgJobStore(std::move(conninfo), Options()) {}
    PgJobStore(std::string conninfo, Options options);
    ~PgJobStore() override;

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
    void set_wakeup(std::function<void()> wake, std::chrono::milliseconds poll_interval) override;
    StoredCounts counts() override;
    std::vector<StoredJob> list(std::optional<StoredState> state, std::size_t limit) override;
    std::optional<StoredJob> show(std::int64_t id) override;
    bool retry_dead(std::int64_t id) override;
    bool remove(std::int64_t id) override;

    static constexpr int kSchemaVersion = 1;
    // A process whose heartbeat is older than this has its running jobs rescued.
    static constexpr std::chrono::milliseconds kHeartbeatTimeout{5000};
    static constexpr const char* kChannel = "fcgihost_jobs";

private:
    class Lease;  // a pooled connection, returned on destruction unless it broke
    std::unique_ptr<durable::PgConnection> connect() const;
    void migrate();
    std::vector<DurableJob> claim_rows(std::size_t limit, const std::vector<std::string>& kinds,
                                       const JobOwner& owner, std::chrono::milliseconds lease, bool& in_doubt);
    std::size_t settle_doubtful_claim();  // frees the rows of a claim whose answer was lost

    const std::string conninfo_;
    const std::string shown_;   // redacted
    const JobOwner self_;       // this process: its claims are the ledger's; rescue() checks its host
    const Options options_;
    mutable boost::mutex pool_mutex_;
    mutable std::vector<std::unique_ptr<durable::PgConnection>> idle_;  // guarded by pool_mutex_
    const std::unique_ptr<durable::PgReconnect> reconnect_;  // every connection after the first
    const std::unique_ptr<durable::PgClaimLedger> ledger_;   // rows claimed here, ends not recorded
    std::unique_ptr<durable::PgListener> listener_;  // set_wakeup's caller only; last: stopped first
};

}  // namespace fcgihost
