// One connection to the store file, with its own descriptor on the write lock file (flock
// locks belong to an open file description, so threads of one process exclude each other
// only through separate opens).
#pragma once

#include "durable/sqlite_statement.hpp"

#include <functional>
#include <string>

namespace fcgihost {
namespace durable {

struct Connection {
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    // Opens, sets WAL, synchronous=FULL and busy_timeout; throws StoreError naming `path`.
    explicit Connection(const std::string& path);
    ~Connection();

    // Runs `body` inside BEGIN IMMEDIATE ... COMMIT under the write lock; rolls back and
    // rethrows if it throws or the commit fails.
    void write(const std::function<void()>& body);

    sqlite3* db = nullptr;
    int lock_fd = -1;
};

// Creates or upgrades the schema; throws StoreError for a file newer than this build.
void migrate(Connection& connection, int target_version);

}  // namespace durable
}  // namespace fcgihost
