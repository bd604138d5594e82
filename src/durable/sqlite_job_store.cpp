#include "durable/sqlite_job_store.hpp"

#include "durable/sqlite_connection.hpp"

#include <boost/thread/lock_guard.hpp>

namespace fcgihost {

using durable::Connection;
using durable::Statement;

namespace {

// A row a job's end may touch: still running under the owner bound to ?1, ?2, ?3.
const char* const kOwnedBy = "state = 'running' AND owner_host = ?1 AND owner_pid = ?2 AND owner_start = ?3";

Statement& bind_owner(Statement& statement, const JobOwner& owner) {
    return statement.bind(1, owner.host).bind(2, owner.pid).bind(3, owner.start);
}

const char* const kJobColumns =
    "id, kind, payload, failures, state, max_attempts, priority, unique_key, run_at, created_at, last_error,"
    " owner_host, owner_pid, owner_start";

// The state a row shows: the table keeps waiting/running/dead; the rest is derived.
const char* state_condition(StoredState state) {
    switch (state) {
        case StoredState::waiting: return "state = 'waiting' AND failures = 0 AND run_at <= ?1";
        case StoredState::scheduled: return "state = 'waiting' AND failures = 0 AND run_at > ?1";
        case StoredState::retrying: return "state = 'waiting' AND failures > 0";
        case StoredState::running: return "state = 'running' AND ?1 = ?1";
        case StoredState::dead: return "state = 'dead' AND ?1 = ?1";
    }
    return "0";
}

StoredJob read_job(const Statement& row, std::int64_t now) {
    StoredJob j;
    j.job.id = row.integer(0);
    j.job.kind = row.text(1);
    j.job.payload = row.text(2);
    j.job.attempt = static_cast<unsigned>(row.integer(3)) + 1;
    j.max_attempts = static_cast<unsigned>(row.integer(5));
    j.priority = static_cast<int>(row.integer(6));
    j.unique_key = row.text(7);
    j.run_at_ms = row.integer(8);
    j.created_ms = row.integer(9);
    j.last_error = row.text(10);
    j.owner = JobOwner{row.text(11), row.integer(12), row.text(13)};
    const std::string state = row.text(4);
    if (state == "running") j.state = StoredState::running;
    else if (state == "dead") j.state = StoredState::dead;
    else if (row.integer(3) > 0) j.state = StoredState::retrying;
    else j.state = j.run_at_ms > now ? StoredState::scheduled : StoredState::waiting;
    return j;
}

std::string placeholders(std::size_t count, int first) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) out += (i ? ",?" : "?") + std::to_string(first + static_cast<int>(i));
    return out;
}

}  // namespace

// A connection out of the pool for the length of one call.
class SqliteJobStore::Lease {
public:
    explicit Lease(const SqliteJobStore& store) : store_(store) {
        {
            boost::lock_guard<boost::mutex> lock(store_.pool_mutex_);
            if (!store_.idle_.empty()) {
                connection_ = std::move(store_.idle_.back());
                store_.idle_.pop_back();
            }
        }
        if (!connection_) connection_ = store_.open_connection();
    }
    ~Lease() {
        boost::lock_guard<boost::mutex> lock(store_.pool_mutex_);
        store_.idle_.push_back(std::move(connection_));
    }
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }

private:
    const SqliteJobStore& store_;
    std::unique_ptr<Connection> connection_;
};

SqliteJobStore::SqliteJobStore(std::string path) : path_(std::move(path)) {
    std::unique_ptr<Connection> first = open_connection();
    try {
        durable::migrate(*first, kSchemaVersion);
        Statement check(first->db, "SELECT count(*) FROM jobs");
        check.step();
    } catch (const StoreError& e) {
        throw StoreError("job store " + path_ + ": " + e.what());
    }
    idle_.push_back(std::move(first));
}

SqliteJobStore::~SqliteJobStore() = default;

std::unique_ptr<Connection> SqliteJobStore::open_connection() const { return std::make_unique<Connection>(path_); }

std::vector<EnqueueResult> SqliteJobStore::enqueue_batch(const std::vector<NewJob>& jobs) {
    std::vector<EnqueueResult> results;
    Lease c(*this);
    c->write([&] {
        results.clear();
        const std::int64_t now = unix_ms_now();
        Statement insert(c->db,
                         "INSERT INTO jobs (kind, payload, unique_key, priority, state, max_attempts, run_at, created_at)"
                         " VALUES (?1, ?2, ?3, ?4, 'waiting', ?5, ?6, ?7) ON CONFLICT DO NOTHING RETURNING id");
        for (const NewJob& job : jobs) {
            insert.reset();
            insert.bind(1, job.kind).bind_blob(2, job.payload);
            if (job.options.unique_key.empty()) insert.bind_null(3);
            else insert.bind(3, job.options.unique_key);
            insert.bind(4, std::int64_t{job.options.priority})
                .bind(5, std::int64_t{job.options.max_attempts})
                .bind(6, now + job.options.delay.count())
                .bind(7, now);
            EnqueueResult r;
            if (insert.step()) {
                r.status = EnqueueStatus::accepted;
                r.id = insert.integer(0);
                insert.run();
            } else {
                r.status = EnqueueStatus::duplicate;
                Statement holder(c->db, "SELECT id FROM jobs WHERE unique_key = ?1 AND state <> 'dead'");
                holder.bind(1, job.options.unique_key);
                if (holder.step()) r.id = holder.integer(0);
            }
            results.push_back(r);
        }
    });
    return results;
}

std::vector<DurableJob> SqliteJobStore::claim(std::size_t limit, const std::vector<std::string>& kinds,
                                              const JobOwner& owner, std::chrono::milliseconds lease) {
    std::vector<DurableJob> claimed;
    if (limit == 0 || kinds.empty()) return claimed;
    Lease c(*this);
    c->write([&] {
        claimed.clear();
        const std::int64_t now = unix_ms_now();
        Statement update(c->db,
                         "UPDATE jobs SET state = 'running', owner_host = ?1, owner_pid = ?2, owner_start = ?3,"
                         " lease_until = ?4 WHERE id IN (SELECT id FROM jobs WHERE state = 'waiting' AND run_at <= ?5"
                         " AND kind IN (" + placeholders(kinds.size(), 7) + ")"
                         " ORDER BY priority DESC, run_at, id LIMIT ?6) RETURNING id, kind, payload, failures");
        update.bind(1, owner.host).bind(2, owner.pid).bind(3, owner.start).bind(4, now + lease.count()).bind(5, now);
        update.bind(6, static_cast<std::int64_t>(limit));
        for (std::size_t i = 0; i < kinds.size(); ++i) update.bind(7 + static_cast<int>(i), kinds[i]);
        while (update.step()) {
            claimed.push_back(DurableJob{update.integer(0), update.text(1), update.text(2),
                                         static_cast<unsigned>(update.integer(3)) + 1});
        }
    }, Connection::Sync::relaxed);
    return claimed;
}

std::size_t SqliteJobStore::complete(const std::vector<std::int64_t>& ids, const JobOwner& owner) {
    std::size_t deleted = 0;
    if (ids.empty()) return deleted;
    Lease c(*this);
    c->write([&] {
        deleted = 0;
        Statement remove(c->db, std::string("DELETE FROM jobs WHERE id = ?4 AND ") + kOwnedBy);
        for (std::int64_t id : ids) {
            remove.reset();
            bind_owner(remove, owner).bind(4, id).run();
            deleted += static_cast<std::size_t>(sqlite3_changes(c->db));
        }
    }, Connection::Sync::relaxed);
    return deleted;
}

bool SqliteJobStore::fail(std::int64_t id, const JobOwner& owner, const std::string& error,
                          std::chrono::milliseconds retry_in) {
    bool dead = false;
    Lease c(*this);
    c->write([&] {
        Statement update(c->db,
                         std::string("UPDATE jobs SET failures = failures + 1, last_error = ?5,"
                         " state = CASE WHEN failures + 1 >= max_attempts THEN 'dead' ELSE 'waiting' END,"
                         " run_at = ?6, owner_host = NULL, owner_pid = NULL, owner_start = NULL, lease_until = NULL"
                         " WHERE id = ?4 AND ") + kOwnedBy + " RETURNING state");
        bind_owner(update, owner).bind(4, id).bind(5, error).bind(6, unix_ms_now() + retry_in.count());
        dead = update.step() && update.text(0) == "dead";
        update.run();
    }, Connection::Sync::relaxed);
    return dead;
}

void SqliteJobStore::release(std::int64_t id, const JobOwner& owner) {
    Lease c(*this);
    c->write([&] {
        Statement update(c->db,
                         std::string("UPDATE jobs SET state = 'waiting', owner_host = NULL, owner_pid = NULL,"
                                     " owner_start = NULL, lease_until = NULL WHERE id = ?4 AND ") + kOwnedBy);
        bind_owner(update, owner).bind(4, id).run();
    }, Connection::Sync::relaxed);
}

void SqliteJobStore::renew(const JobOwner& owner, std::chrono::milliseconds lease) {
    Lease c(*this);
    c->write([&] {
        Statement(c->db,
                  "UPDATE jobs SET lease_until = ?4 WHERE state = 'running' AND owner_host = ?1 AND owner_pid = ?2"
                  " AND owner_start = ?3")
            .bind(1, owner.host).bind(2, owner.pid).bind(3, owner.start).bind(4, unix_ms_now() + lease.count())
            .run();
    }, Connection::Sync::relaxed);
}

std::size_t SqliteJobStore::rescue() {
    Lease c(*this);
    const std::int64_t now = unix_ms_now();
    std::vector<JobOwner> gone;
    bool expired = false;
    {
        Statement owners(c->db,
                         "SELECT owner_host, owner_pid, owner_start, min(lease_until) FROM jobs WHERE state = 'running'"
                         " GROUP BY 1, 2, 3");
        while (owners.step()) {
            JobOwner owner{owners.text(0), owners.integer(1), owners.text(2)};
            if (!owner_alive_here(owner)) gone.push_back(owner);
            else if (owners.integer(3) < now) expired = true;
        }
    }
    if (gone.empty() && !expired) return 0;
    std::size_t freed = 0;
    const char* const free_sql =
        "UPDATE jobs SET state = 'waiting', owner_host = NULL, owner_pid = NULL, owner_start = NULL,"
        " lease_until = NULL WHERE state = 'running' AND ";
    c->write([&] {
        freed = 0;
        for (const JobOwner& owner : gone) {
            Statement(c->db, std::string(free_sql) + "owner_host = ?1 AND owner_pid = ?2 AND owner_start = ?3")
                .bind(1, owner.host).bind(2, owner.pid).bind(3, owner.start)
                .run();
            freed += static_cast<std::size_t>(sqlite3_changes(c->db));
        }
        Statement(c->db, std::string(free_sql) + "lease_until < ?1").bind(1, now).run();
        freed += static_cast<std::size_t>(sqlite3_changes(c->db));
    }, Connection::Sync::relaxed);
    return freed;
}

std::optional<std::int64_t> SqliteJobStore::next_due(const std::vector<std::string>& kinds) {
    if (kinds.empty()) return std::nullopt;
    Lease c(*this);
    Statement q(c->db, "SELECT min(run_at) FROM jobs WHERE state = 'waiting' AND kind IN (" +
                           placeholders(kinds.size(), 1) + ")");
    for (std::size_t i = 0; i < kinds.size(); ++i) q.bind(1 + static_cast<int>(i), kinds[i]);
    if (!q.step() || q.is_null(0)) return std::nullopt;
    return q.integer(0);
}

StoredCounts SqliteJobStore::counts() {
    Lease c(*this);
    StoredCounts counts;
    Statement q(c->db,
                "SELECT state, failures > 0, run_at > ?1, count(*) FROM jobs GROUP BY 1, 2, 3");
    q.bind(1, unix_ms_now());
    while (q.step()) {
        const std::string state = q.text(0);
        const auto n = static_cast<std::uint64_t>(q.integer(3));
        if (state == "running") counts.running += n;
        else if (state == "dead") counts.dead += n;
        else if (q.integer(1) != 0) counts.retrying += n;
        else if (q.integer(2) != 0) counts.scheduled += n;
        else counts.waiting += n;
    }
    return counts;
}

std::vector<StoredJob> SqliteJobStore::list(std::optional<StoredState> state, std::size_t limit) {
    Lease c(*this);
    const std::int64_t now = unix_ms_now();
    Statement q(c->db, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE " +
                           (state ? state_condition(*state) : "?1 = ?1") + " ORDER BY id LIMIT ?2");
    q.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
    std::vector<StoredJob> jobs;
    while (q.step()) jobs.push_back(read_job(q, now));
    return jobs;
}

std::optional<StoredJob> SqliteJobStore::show(std::int64_t id) {
    Lease c(*this);
    Statement q(c->db, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?1");
    q.bind(1, id);
    if (!q.step()) return std::nullopt;
    return read_job(q, unix_ms_now());
}

bool SqliteJobStore::retry_dead(std::int64_t id) {
    bool changed = false;
    Lease c(*this);
    c->write([&] {
        Statement(c->db, "UPDATE jobs SET state = 'waiting', failures = 0, run_at = ?2 WHERE id = ?1 AND state = 'dead'")
            .bind(1, id).bind(2, unix_ms_now())
            .run();
        changed = sqlite3_changes(c->db) > 0;
    });
    return changed;
}

bool SqliteJobStore::remove(std::int64_t id) {
    bool changed = false;
    Lease c(*this);
    c->write([&] {
        Statement(c->db, "DELETE FROM jobs WHERE id = ?1 AND state <> 'running'").bind(1, id).run();
        changed = sqlite3_changes(c->db) > 0;
    });
    return changed;
}

}  // namespace fcgihost
