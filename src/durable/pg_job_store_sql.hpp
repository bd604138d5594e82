// What the PgJobStore sources share of their SQL. Included by src/durable/pg_job_store*.cpp
// only: NOW_MS is a macro, so that it can be pasted into string literals.
#pragma once

#include <cstdint>

// The server's clock in unix ms: every host sharing the store uses the same one.
#define NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"

namespace fcgihost {
namespace durable {

// Advisory lock ids live in one space per database: kept side by side so they stay distinct.
constexpr std::int64_t kMigrateLock = 0x66636768'00000001;  // "fcgh" + 1
constexpr std::int64_t kRescueLock = 0x66636768'00000002;
// Sessions commit with synchronous_commit=off (see pg_connection.cpp); what the store
// promises to keep waits for its WAL flush, inside its transaction.
constexpr const char* kDurableCommit = "SET LOCAL synchronous_commit = on";

}  // namespace durable
}  // namespace fcgihost
