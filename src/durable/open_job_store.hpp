// open_job_store: the JobStore a --job-store value names.
#pragma once

#include "durable/job_store.hpp"

#include <memory>
#include <string>

namespace fcgihost {

// A PgJobStore or a SqliteJobStore, by the form of `store`. Throws StoreError.
std::unique_ptr<JobStore> open_job_store(const std::string& store);

}  // namespace fcgihost
