// A throwaway PostgreSQL 15 server for tests: initdb in a temp dir as the unprivileged user
// nobody (the server refuses to run as root), listening only on a unix socket in that dir.
// Not thread-safe.
#pragma once

#include "support/process.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace fcgihost {
namespace testing_support {

class PostgresProcess {
public:
    PostgresProcess(const PostgresProcess&) = delete;
    PostgresProcess& operator=(const PostgresProcess&) = delete;

    PostgresProcess();   // initdb and start; throws std::runtime_error with the server's log
    ~PostgresProcess();  // fast shutdown (SIGINT), waited for

    // A libpq keyword string for database `db` (created by create_database, or "postgres").
    std::string conninfo(const std::string& db = "postgres") const;
    // A fresh, empty database; returns its conninfo.
    std::string create_database();
    // Runs one SQL statement as the superuser; throws std::runtime_error with the error.
    void sql(const std::string& statement, const std::string& db = "postgres") const;

    void stop();   // fast shutdown; the data stays
    void start();  // after stop(): the same data, the same socket
    std::string log() const;
    // The postmaster, for a test that signals the server itself; -1 when it is not running.
    pid_t pid() const;

    // One server per test run for the suites that need no restart; stopped at exit.
    static PostgresProcess& shared();

private:
    void wait_ready();

    TempDir dir_;
    std::unique_ptr<ChildProcess> server_;
    int databases_ = 0;
    int starts_ = 0;
};

// Every process of a running server held by SIGSTOP: a host that stops answering without
// closing its connections (frozen, partitioned away, a paused VM), so no timeout of the
// server's own fires. Continued by thaw() or on destruction, so a failed assertion never
// leaves the server held.
class FrozenPostgres {
public:
    FrozenPostgres(const FrozenPostgres&) = delete;
    FrozenPostgres& operator=(const FrozenPostgres&) = delete;
    explicit FrozenPostgres(const PostgresProcess& server);  // throws std::runtime_error
    ~FrozenPostgres();
    void thaw();

private:
    std::vector<pid_t> pids_;
};

}  // namespace testing_support
}  // namespace fcgihost
