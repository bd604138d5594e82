#include "durable/pg_job_store.hpp"

#include "durable/pg_claim_ledger.hpp"
#include "durable/pg_connection.hpp"
#include "durable/pg_job_store_lease.hpp"
#include "durable/pg_job_store_sql.hpp"
#include "durable/pg_listener.hpp"
#include "durable/pg_reconnect.hpp"
#include "durable/store_address.hpp"
#include "fcgihost/log.hpp"

#include <algorithm>

namespace fcgihost {

using durable::PgConnection;
using durable::PgParams;
using durable::PgResult;
using durable::kDurableCommit;
using durable::kRescueLock;
using durable::pg_transaction;

namespace {

const char* const kHeartbeat =
    "INSERT INTO fcgihost_processes (host, pid, start, heartbeat) VALUES ($1, $2, $3, " NOW_MS ")"
    " ON CONFLICT (host, pid, start) DO UPDATE SET heartbeat = excluded.heartbeat";

const char* const kFreeRow =
    "state = 'waiting', owner_host = NULL, owner_pid = NULL, owner_start = NULL, lease_until = NULL";

PgParams owner_params(const JobOwner& o) { return std::move(PgParams().text(o.host).integer(o.pid).text(o.start)); }

}  // namespace

PgJobStore::PgJobStore(std::string conninfo, Options options)
    : conninfo_(std::move(conninfo)),
      shown_(redacted_store(conninfo_)),
      self_(JobOwner::self()),
      options_(std::move(options)),
      reconnect_(std::make_unique<durable::PgReconnect>([this] { return connect(); }, shown_)),
      ledger_(std::make_unique<durable::PgClaimLedger>()) {
    try {
        migrate();
    } catch (const StoreError& e) {
        const std::string what = e.what();
        throw StoreError(what.rfind("job store ", 0) == 0 ? what : "job store " + shown_ + ": " + what);
    }
}

PgJobStore::~PgJobStore() = default;

std::unique_ptr<PgConnection> PgJobStore::connect() const { return std::make_unique<PgConnection>(conninfo_, shown_); }

std::vector<EnqueueResult> PgJobStore::enqueue_batch(const std::vector<NewJob>& jobs) {
    std::vector<EnqueueResult> results;
    Lease c(*this);
    pg_transaction(*c, [&] {
        c->exec(kDurableCommit);  // accepted means on disk
        for (const NewJob& job : jobs) {
            PgParams p;
            p.text(job.kind).bytes(job.payload);
            if (job.options.unique_key.empty()) p.null();
            else p.text(job.options.unique_key);
            p.integer(job.options.priority).integer(job.options.max_attempts).integer(job.options.delay.count());
            PgResult r = c->exec(
                "INSERT INTO fcgihost_jobs (kind, payload, unique_key, priority, state, max_attempts, run_at, created_at)"
                " VALUES ($1, $2, $3, $4, 'waiting', $5, " NOW_MS " + $6, " NOW_MS ")"
                " ON CONFLICT (unique_key) WHERE state IN ('waiting', 'running') DO NOTHING RETURNING id",
                p);
            EnqueueResult e;
            if (r.rows() == 1) {
                e.status = EnqueueStatus::accepted;
                e.id = r.integer(0, 0);
            } else {
                e.status = EnqueueStatus::duplicate;
                PgResult holder = c->exec(
                    "SELECT id FROM fcgihost_jobs WHERE unique_key = $1 AND state IN ('waiting', 'running')",
                    PgParams().text(job.options.unique_key));
                if (holder.rows() == 1) e.id = holder.integer(0, 0);
            }
            results.push_back(e);
        }
        c->exec("SELECT pg_notify($1, '')", PgParams().text(kChannel));
    });
    return results;
}

std::vector<DurableJob> PgJobStore::claim(std::size_t limit, const std::vector<std::string>& kinds,
                                          const JobOwner& owner, std::chrono::milliseconds lease) {
    std::vector<DurableJob> claimed;
    if (limit == 0 || kinds.empty()) return claimed;
    const bool mine = owner == self_;  // the ledger knows this process's claims only
    if (mine && !ledger_->begin_claim()) return claimed;
    bool in_doubt = false;
    try {
        claimed = claim_rows(limit, kinds, owner, lease, in_doubt);
    } catch (...) {
        if (mine) ledger_->end_claim({}, in_doubt);
        throw;
    }
    if (mine) {
        std::vector<std::int64_t> ids;
        for (const DurableJob& j : claimed) ids.push_back(j.id);
        ledger_->end_claim(ids, false);
    }
    return claimed;
}

std::vector<DurableJob> PgJobStore::claim_rows(std::size_t limit, const std::vector<std::string>& kinds,
                                               const JobOwner& owner, std::chrono::milliseconds lease,
                                               bool& in_doubt) {
    std::vector<DurableJob> claimed;
    Lease c(*this);
    PgParams p = owner_params(owner);
    p.integer(lease.count()).text_array(kinds).integer(static_cast<std::int64_t>(limit));
    std::optional<PgResult> answer;
    try {
        answer.emplace(c->exec(
        std::string("WITH beat AS (") + kHeartbeat + "),"
        " due AS (SELECT id FROM fcgihost_jobs WHERE state = 'waiting' AND run_at <= " NOW_MS
        " AND kind = ANY($5::text[]) ORDER BY priority DESC, run_at, id LIMIT $6 FOR UPDATE SKIP LOCKED)"
        " UPDATE fcgihost_jobs j SET state = 'running', owner_host = $1, owner_pid = $2, owner_start = $3,"
        " lease_until = " NOW_MS " + $4 FROM due WHERE j.id = due.id"
        " RETURNING j.id, j.kind, j.payload, j.failures, j.priority, j.run_at",
        p));
    } catch (const StoreError&) {
        in_doubt = c->broken();  // it may have committed with the answer lost on the way
        throw;
    }
    const PgResult& r = *answer;
    std::vector<std::pair<std::pair<int, std::int64_t>, DurableJob>> ordered;
    for (int i = 0; i < r.rows(); ++i) {
        ordered.push_back({{-static_cast<int>(r.integer(i, 4)), r.integer(i, 5)},
                           DurableJob{r.integer(i, 0), r.text(i, 1), r.bytes(i, 2),
                                      static_cast<unsigned>(r.integer(i, 3)) + 1}});
    }
    // RETURNING keeps no order; hand the jobs out in the order they were picked.
    std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second.id < b.second.id;
    });
    for (auto& o : ordered) claimed.push_back(std::move(o.second));
    return claimed;
}

std::size_t PgJobStore::complete(const std::vector<std::int64_t>& ids, const JobOwner& owner) {
    if (ids.empty()) return 0;
    std::vector<std::string> texts;
    texts.reserve(ids.size());
    for (std::int64_t id : ids) texts.push_back(std::to_string(id));
    Lease c(*this);
    const std::size_t deleted = static_cast<std::size_t>(
        c->exec("DELETE FROM fcgihost_jobs WHERE id = ANY($4::bigint[]) AND state = 'running' AND owner_host = $1"
                " AND owner_pid = $2 AND owner_start = $3",
                owner_params(owner).text_array(texts))
            .affected());
    if (owner == self_) {
        for (std::int64_t id : ids) ledger_->ended(id);
    }
    return deleted;
}

bool PgJobStore::fail(std::int64_t id, const JobOwner& owner, const std::string& error,
                      std::chrono::milliseconds retry_in) {
    Lease c(*this);
    PgResult r = c->exec(
        "UPDATE fcgihost_jobs SET failures = failures + 1, last_error = $5,"
        " state = CASE WHEN failures + 1 >= max_attempts THEN 'dead' ELSE 'waiting' END,"
        " run_at = " NOW_MS " + $6, owner_host = NULL, owner_pid = NULL, owner_start = NULL, lease_until = NULL"
        " WHERE id = $4 AND state = 'running' AND owner_host = $1 AND owner_pid = $2 AND owner_start = $3"
        " RETURNING state",
        owner_params(owner).integer(id).text(error).integer(retry_in.count()));
    if (owner == self_) ledger_->ended(id);
    return r.rows() == 1 && r.text(0, 0) == "dead";
}

void PgJobStore::release(std::int64_t id, const JobOwner& owner) {
    Lease c(*this);
    c->exec(std::string("UPDATE fcgihost_jobs SET ") + kFreeRow +
                " WHERE id = $4 AND state = 'running' AND owner_host = $1 AND owner_pid = $2 AND owner_start = $3",
            owner_params(owner).integer(id));
    if (owner == self_) ledger_->ended(id);
}

void PgJobStore::renew(const JobOwner& owner, std::chrono::milliseconds lease) {
    Lease c(*this);
    pg_transaction(*c, [&] {
        c->exec(kHeartbeat, owner_params(owner));
        c->exec("UPDATE fcgihost_jobs SET lease_until = " NOW_MS " + $4 WHERE state = 'running' AND owner_host = $1"
                " AND owner_pid = $2 AND owner_start = $3",
                owner_params(owner).integer(lease.count()));
    });
}

std::size_t PgJobStore::settle_doubtful_claim() {
    std::optional<std::vector<std::int64_t>> held = ledger_->begin_recovery();
    if (!held) return 0;
    std::size_t freed = 0;
    try {
        std::vector<std::string> ids;
        for (std::int64_t id : *held) ids.push_back(std::to_string(id));
        Lease c(*this);
        freed = static_cast<std::size_t>(
            c->exec(std::string("UPDATE fcgihost_jobs SET ") + kFreeRow +
                        " WHERE state = 'running' AND owner_host = $1 AND owner_pid = $2 AND owner_start = $3"
                        " AND NOT (id = ANY($4::bigint[]))",
                    owner_params(self_).text_array(ids))
                .affected());
    } catch (...) {
        ledger_->end_recovery(false);
        throw;
    }
    ledger_->end_recovery(true);
    if (freed > 0) {
        log_warn("job store ", shown_, ": ", freed, " job(s) of a claim whose answer was lost are waiting again");
    }
    return freed;
}

std::size_t PgJobStore::rescue() {
    std::size_t freed = settle_doubtful_claim();
    Lease c(*this);
    pg_transaction(*c, [&] {
        // One rescuer per cycle; the others find the lock taken and skip.
        if (c->exec("SELECT pg_try_advisory_xact_lock($1)", PgParams().integer(kRescueLock)).text(0, 0) != "t") return;
        PgResult owners = c->exec(
            "SELECT DISTINCT owner_pid, owner_start FROM fcgihost_jobs WHERE state = 'running' AND owner_host = $1",
            PgParams().text(self_.host));
        for (int i = 0; i < owners.rows(); ++i) {
            JobOwner o{self_.host, owners.integer(i, 0), owners.text(i, 1)};
            if (owner_alive_here(o)) continue;
            freed += static_cast<std::size_t>(
                c->exec(std::string("UPDATE fcgihost_jobs SET ") + kFreeRow +
                            " WHERE state = 'running' AND owner_host = $1 AND owner_pid = $2 AND owner_start = $3",
                        owner_params(o))
                    .affected());
        }
        freed += static_cast<std::size_t>(
            c->exec(std::string("UPDATE fcgihost_jobs j SET ") + kFreeRow +
                        " WHERE state = 'running' AND (lease_until < " NOW_MS " OR NOT EXISTS (SELECT 1 FROM"
                        " fcgihost_processes p WHERE p.host = j.owner_host AND p.pid = j.owner_pid"
                        " AND p.start = j.owner_start AND p.heartbeat > " NOW_MS " - $1))",
                    PgParams().integer(kHeartbeatTimeout.count()))
                .affected());
        c->exec("DELETE FROM fcgihost_processes WHERE heartbeat < " NOW_MS " - 3600000");
    });
    return freed;
}

std::optional<std::int64_t> PgJobStore::next_due(const std::vector<std::string>& kinds) {
    if (kinds.empty()) return std::nullopt;
    Lease c(*this);
    PgResult r = c->exec("SELECT min(run_at) - " NOW_MS " FROM fcgihost_jobs WHERE state = 'waiting'"
                         " AND kind = ANY($1::text[])",
                         PgParams().text_array(kinds));
    if (r.is_null(0, 0)) return std::nullopt;
    return unix_ms_now() + r.integer(0, 0);
}

void PgJobStore::set_wakeup(std::function<void()> wake, std::chrono::milliseconds poll_interval) {
    listener_.reset();  // joins the old thread before the new callback can run
    if (!wake) return;
    auto notify = [this](const std::string& channel, const std::string& payload) {
        Lease c(*this);
        c->exec("SELECT pg_notify($1, $2)", PgParams().text(channel).text(payload));
    };
    try {
        listener_ = std::make_unique<durable::PgListener>(
            *reconnect_, notify, std::move(wake),
            durable::PgListenerOptions{kChannel, options_.probe_channel, options_.probe_wait, poll_interval});
    } catch (const std::exception& e) {
        log_warn("durable jobs: no wake-ups (", e.what(), "); polling every ", poll_interval.count(), " ms");
    }
}

}  // namespace fcgihost
