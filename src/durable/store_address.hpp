// The --job-store value: a SQLite file path or a PostgreSQL conninfo (a postgresql:// URI or
// a libpq keyword string), and how to show it without its password.
#pragma once

#include <string>

namespace fcgihost {

// True if `store` names a PostgreSQL database rather than a SQLite file.
bool is_postgres_store(const std::string& store);
// `store` fit for a log line or /status: any password replaced by "***".
std::string redacted_store(const std::string& store);

}  // namespace fcgihost
