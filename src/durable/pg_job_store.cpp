#include "durable/pg_job_store.hpp"

#include "durable/pg_claim_ledger.hpp"
#include "durable/pg_connection.hpp"
#include "durable/pg_listener.hpp"
#include "durable/pg_reconnect.hpp"
#include "fcgihost/log.hpp"

#include <boost/thread/lock_guard.hpp>

namespace fcgihost {

using durable::PgConnection;
using durable::PgParams;
using durable::PgResult;
using durable::pg_transaction;

namespace {

// The server's clock in unix ms: every host sharing the store uses the same one.
#define NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"

const std::int64_t kMigrateLock = 0x66636768'00000001;  // "fcgh" + 1
const std::int64_t kRescueLock = 0x66636768'00000002;
// Sessions commit with synchronous_commit=off (see pg_connection.cpp); what the store
// promises to keep waits for its WAL flush, inside its transaction.
const char* const kDurableCommit = "SET LOCAL synchronous_commit = on";

const char* const kSchema[] = {
    "CREATE TABLE fcgihost_jobs ("
    " id bigserial PRIMARY KEY,"
    " kind text NOT NULL,"
    " payload bytea NOT NULL,"
    " unique_key text,"
    " priority integer NOT NULL DEFAULT 0,"
    " state text NOT NULL CHECK (state IN ('waiting', 'running', 'dead')),"
    " failures integer NOT NULL DEFAULT 0,"
    " max_attempts integer NOT NULL,"
    " run_at bigint NOT NULL,"
    " created_at bigint NOT NULL,"
    " last_error text NOT NULL DEFAULT '',"
    " owner_host text, owner_pid bigint, owner_start text, lease_until bigint)",
    "CREATE INDEX fcgihost_jobs_due ON fcgihost_jobs (priority DESC, run_at, id) WHERE state = 'waiting'",
    "CREATE UNIQUE INDEX fcgihost_jobs_unique ON fcgihost_jobs (unique_key) WHERE state IN ('waiting', 'running')",
    "CREATE INDEX fcgihost_jobs_owner ON fcgihost_jobs (owner_host, owner_pid, owner_start) WHERE state = 'running'",
    // Every claim and end leaves a dead tuple; SKIP LOCKED scans slow down as they pile up.
    "ALTER TABLE fcgihost_jobs SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,"
    " autovacuum_vacuum_cost_delay = 0)",
    "CREATE TABLE fcgihost_processes ("
    " host text NOT NULL, pid bigint NOT NULL, start text NOT NULL, heartbeat bigint NOT NULL,"
    " PRIMARY KEY (host, pid, start))",
};

const char* const kJobColumns =
    "id, kind, payload, failures, state, max_attempts, priority, coalesce(unique_key, ''), run_at, created_at,"
    " last_error, coalesce(owner_host, ''), coalesce(owner_pid, 0), coalesce(owner_start, ''), " NOW_MS;

const char* const kHeartbeat =
    "INSERT INTO fcgihost_processes (host, pid, start, heartbeat) VALUES ($1, $2, $3, " NOW_MS ")"
    " ON CONFLICT (host, pid, start) DO UPDATE SET heartbeat = excluded.heartbeat";

const char* const kFreeRow =
    "state = 'waiting', owner_host = NULL, owner_pid = NULL, owner_start = NULL, lease_until = NULL";

const char* state_condition(StoredState state) {
    switch (state) {
        case StoredState::waiting: return "state = 'waiting' AND failures = 0 AND run_at <= " NOW_MS;
        case StoredState::scheduled: return "state = 'waiting' AND failures = 0 AND run_at > " NOW_MS;
        case StoredState::retrying: return "state = 'waiting' AND failures > 0";
        case StoredState::running: return "state = 'running'";
        case StoredState::dead: return "state = 'dead'";
    }
    return "false";
}

StoredJob read_job(const PgResult& r, int row) {
    StoredJob j;
    j.job.id = r.integer(row, 0);
    j.job.kind = r.text(row, 1);
    j.job.payload = r.bytes(row, 2);
    j.job.attempt = static_cast<unsigned>(r.integer(row, 3)) + 1;
    j.max_attempts = static_cast<unsigned>(r.integer(row, 5));
    j.priority = static_cast<int>(r.integer(row, 6));
    j.unique_key = r.text(row, 7);
    // Shown in this host's clock, like every other time the tools print.
    const std::int64_t skew = unix_ms_now() - r.integer(row, 14);
    j.run_at_ms = r.integer(row, 8) + skew;
    j.created_ms = r.integer(row, 9) + skew;
    j.last_error = r.text(row, 10);
    j.owner = JobOwner{r.text(row, 11), r.integer(row, 12), r.text(row, 13)};
    const std::string state = r.text(row, 4);
    if (state == "running") j.state = StoredState::running;
    else if (state == "dead") j.state = StoredState::dead;
    else if (r.integer(row, 3) > 0) j.state = StoredState::retrying;
    else j.state = r.integer(row, 8) > r.integer(row, 14) ? StoredState::scheduled : StoredState::waiting;
    return j;
}

PgParams owner_params(const JobOwner& o) { return std::move(PgParams().text(o.host).integer(o.pid).text(o.start)); }

}  // namespace

bool is_postgres_store(const std::string& s) {
    return s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0 || s.find("host=") != std::string::npos ||
           s.find("dbname=") != std::string::npos;
}

std::string redacted_store(const std::string& s) {
    std::string out = s;
    if (s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0) {
        // postgresql://user:PASSWORD@host/...: the userinfo ends at the last '@' before the path.
        const std::size_t from = s.find("://") + 3;
        const std::size_t path = s.find_first_of("/?", from);
        const std::size_t at = s.rfind('@', path == std::string::npos ? std::string::npos : path);
        if (at != std::string::npos && at >= from) {
            const std::size_t colon = s.find(':', from);
            if (colon != std::string::npos && colon < at) out = s.substr(0, colon + 1) + "***" + s.substr(at);
        }
    }
    // password=... as a keyword or as a URI query parameter.
    for (std::size_t at = out.find("password="); at != std::string::npos; at = out.find("password=", at + 1)) {
        const std::size_t value = at + 9;
        std::size_t end = value;
        if (end < out.size() && out[end] == '\'') {
            for (++end; end < out.size() && out[end] != '\''; ++end) {
                if (out[end] == '\\') ++end;
            }
            if (end < out.size()) ++end;
        } else {
            end = out.find_first_of(" &", value);
            if (end == std::string::npos) end = out.size();
        }
        out = out.substr(0, value) + "***" + out.substr(std::min(end, out.size()));
    }
    return out;
}

// A connection out of the pool for the length of one call.
class PgJobStore::Lease {
public:
    explicit Lease(const PgJobStore& store) : store_(store) {
        {
            boost::lock_guard<boost::mutex> lock(store_.pool_mutex_);
            if (!store_.idle_.empty()) {
                connection_ = std::move(store_.idle_.back());
                store_.idle_.pop_back();
            }
        }
        if (connection_ && (connection_->broken() || connection_->idle_input_pending())) connection_.reset();
        if (!connection_) connection_ = store_.reconnect_->attempt();
    }
    ~Lease() {
        // A connection the server dropped, or one left inside a transaction, is not reused.
        if (connection_->broken() || PQtransactionStatus(connection_->raw()) != PQTRANS_IDLE) return;
        boost::lock_guard<boost::mutex> lock(store_.pool_mutex_);
        store_.idle_.push_back(std::move(connection_));
    }
    PgConnection& operator*() { return *connection_; }
    PgConnection* operator->() { return connection_.get(); }

private:
    const PgJobStore& store_;
    std::unique_ptr<PgConnection> connection_;
};

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

void PgJobStore::migrate() {
    // Not through reconnect_: a server unreachable at start is one error, not an outage.
    std::unique_ptr<PgConnection> c = connect();
    pg_transaction(*c, [&] {
        c->exec("SELECT pg_advisory_xact_lock($1)", PgParams().integer(kMigrateLock));
        c->exec("CREATE TABLE IF NOT EXISTS fcgihost_schema (version integer NOT NULL)");
        PgResult v = c->exec("SELECT max(version) FROM fcgihost_schema");
        const std::int64_t version = v.is_null(0, 0) ? 0 : v.integer(0, 0);
        if (version > kSchemaVersion) {
            throw StoreError("schema version " + std::to_string(version) + " is newer than this build (" +
                             std::to_string(kSchemaVersion) + ")");
        }
        if (version < 1) {
            for (const char* sql : kSchema) c->exec(sql);
            c->exec("INSERT INTO fcgihost_schema (version) VALUES (1)");
        }
    });
    boost::lock_guard<boost::mutex> lock(pool_mutex_);
    idle_.push_back(std::move(c));
}

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

StoredCounts PgJobStore::counts() {
    Lease c(*this);
    PgResult r = c->exec("SELECT state, failures > 0, run_at > " NOW_MS ", count(*) FROM fcgihost_jobs GROUP BY 1, 2, 3");
    StoredCounts counts;
    for (int i = 0; i < r.rows(); ++i) {
        const std::string state = r.text(i, 0);
        const auto n = static_cast<std::uint64_t>(r.integer(i, 3));
        if (state == "running") counts.running += n;
        else if (state == "dead") counts.dead += n;
        else if (r.text(i, 1) == "t") counts.retrying += n;
        else if (r.text(i, 2) == "t") counts.scheduled += n;
        else counts.waiting += n;
    }
    return counts;
}

std::vector<StoredJob> PgJobStore::list(std::optional<StoredState> state, std::size_t limit) {
    Lease c(*this);
    PgResult r = c->exec(std::string("SELECT ") + kJobColumns + " FROM fcgihost_jobs WHERE " +
                             (state ? state_condition(*state) : "true") + " ORDER BY id LIMIT $1",
                         PgParams().integer(static_cast<std::int64_t>(limit)));
    std::vector<StoredJob> jobs;
    for (int i = 0; i < r.rows(); ++i) jobs.push_back(read_job(r, i));
    return jobs;
}

std::optional<StoredJob> PgJobStore::show(std::int64_t id) {
    Lease c(*this);
    PgResult r = c->exec(std::string("SELECT ") + kJobColumns + " FROM fcgihost_jobs WHERE id = $1",
                         PgParams().integer(id));
    if (r.rows() == 0) return std::nullopt;
    return read_job(r, 0);
}

bool PgJobStore::retry_dead(std::int64_t id) {
    Lease c(*this);
    bool done = false;
    pg_transaction(*c, [&] {
        c->exec(kDurableCommit);
        done = c->exec("UPDATE fcgihost_jobs SET state = 'waiting', failures = 0, run_at = " NOW_MS
                       " WHERE id = $1 AND state = 'dead'",
                       PgParams().integer(id))
                   .affected() > 0;
    });
    return done;
}

bool PgJobStore::remove(std::int64_t id) {
    Lease c(*this);
    bool done = false;
    pg_transaction(*c, [&] {
        c->exec(kDurableCommit);
        done = c->exec("DELETE FROM fcgihost_jobs WHERE id = $1 AND state <> 'running'", PgParams().integer(id))
                   .affected() > 0;
    });
    return done;
}

}  // namespace fcgihost
