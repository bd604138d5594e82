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

    // How a commit reaches the disk. In WAL mode this is per connection and per commit:
    //  full    fsync before COMMIT returns (enqueues: a 202 must survive a power cut);
    //  relaxed no fsync; the commit reaches the disk with the next full one or checkpoint.
    //          Right for claims and job ends: losing one to a power cut only makes the
    //          job run again, which at-least-once allows.
    enum class Sync { full, relaxed };

    // Runs `body` inside BEGIN IMMEDIATE ... COMMIT under the write lock; rolls back and
    // rethrows if it throws or the commit fails.
    void write(const std::function<void()>& body, Sync sync = Sync::full);

    sqlite3* db = nullptr;
    int lock_fd = -1;
    int wal_frames = 0;       // the WAL's length after this connection's last commit
    Sync sync_ = Sync::full;  // what the connection is set to now
};

// Creates or upgrades the schema; throws StoreError for a file newer than this build.
void migrate(Connection& connection, int target_version);

}  // namespace durable
}  // namespace fcgihost
