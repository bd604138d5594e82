// PgJobStore's tables, and migrate(), which creates or checks them when a store opens.
#include "durable/pg_job_store.hpp"

#include "durable/pg_connection.hpp"
#include "durable/pg_job_store_sql.hpp"

#include <boost/thread/lock_guard.hpp>

namespace fcgihost {

using durable::PgConnection;
using durable::PgParams;
using durable::PgResult;
using durable::kMigrateLock;
using durable::pg_transaction;

namespace {

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

}  // namespace

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

}  // namespace fcgihost
