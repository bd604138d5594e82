// One libpq session a test holds open across statements: to keep a transaction (and its
// locks) while the code under test runs, or to look at pg_stat_activity. Not thread-safe.
#pragma once

#include <libpq-fe.h>

#include <string>

namespace fcgihost {
namespace testing_support {

class PgSession {
public:
    PgSession(const PgSession&) = delete;
    PgSession& operator=(const PgSession&) = delete;

    explicit PgSession(const std::string& conninfo);  // throws std::runtime_error
    ~PgSession();

    // Runs one statement; returns the first column of the first row ("" if none or NULL).
    // Throws std::runtime_error with the server's message.
    std::string exec(const std::string& sql);

private:
    PGconn* conn_;
};

}  // namespace testing_support
}  // namespace fcgihost
