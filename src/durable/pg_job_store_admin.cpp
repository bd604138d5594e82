// PgJobStore's reads and repairs for operators: fcgihost-jobs, and the counts that /status
// and the summary line show.
#include "durable/pg_job_store.hpp"

#include "durable/pg_connection.hpp"
#include "durable/pg_job_store_lease.hpp"
#include "durable/pg_job_store_sql.hpp"

namespace fcgihost {

using durable::PgParams;
using durable::PgResult;
using durable::kDurableCommit;
using durable::pg_transaction;

namespace {

const char* const kJobColumns =
    "id, kind, payload, failures, state, max_attempts, priority, coalesce(unique_key, ''), run_at, created_at,"
    " last_error, coalesce(owner_host, ''), coalesce(owner_pid, 0), coalesce(owner_start, ''), " NOW_MS;

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

}  // namespace

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
