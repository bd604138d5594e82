#include "durable/open_job_store.hpp"

#include "durable/pg_job_store.hpp"
#include "durable/sqlite_job_store.hpp"
#include "durable/store_address.hpp"

namespace fcgihost {

std::unique_ptr<JobStore> open_job_store(const std::string& store) {
    if (is_postgres_store(store)) return std::make_unique<PgJobStore>(store);
    return std::make_unique<SqliteJobStore>(store);
}

}  // namespace fcgihost
