// One libpq connection and the few calls PgJobStore makes on it. Every call either returns
// a result or throws StoreError with the server's first line; a connection that broke is
// marked so the pool drops it instead of handing it out again.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fcgihost {
namespace durable {

// Parameters of one statement, all sent as text except bytes (binary: a payload may hold NUL).
class PgParams {
public:
    PgParams& text(std::string value);
    PgParams& integer(std::int64_t value) { return text(std::to_string(value)); }
    PgParams& bytes(std::string value);
    PgParams& null();
    // A text[] literal: each element quoted, so a kind may hold any character.
    PgParams& text_array(const std::vector<std::string>& values);

private:
    friend class PgConnection;
    std::vector<std::string> values_;
    std::vector<bool> is_null_;
    std::vector<int> formats_;
};

class PgResult {
public:
    explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
    int rows() const { return PQntuples(r_.get()); }
    bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
    std::string text(int row, int col) const;
    std::int64_t integer(int row, int col) const;
    std::string bytes(int row, int col) const;  // a bytea column in text (hex) form
    std::int64_t affected() const;

private:
    std::unique_ptr<PGresult, void (*)(PGresult*)> r_;
};

class PgConnection {
public:
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;
    // Connects with a bounded connect and statement time; throws StoreError naming `shown`
    // (the redacted conninfo), never the conninfo itself.
    PgConnection(const std::string& conninfo, const std::string& shown);
    ~PgConnection();

    PgResult exec(const std::string& sql, const PgParams& params = PgParams());
    bool broken() const;
    // True if an idle connection has input waiting. Nothing is owed to an idle session, so
    // that is the server's goodbye (pg_terminate_backend, a restart) or a notice: such a
    // connection is not reused, and a claim is never sent on a connection already dead,
    // where its fate would be unknown. No round trip.
    bool idle_input_pending() const;
    PGconn* raw() { return conn_; }

private:
    PGconn* conn_ = nullptr;
};

// Runs `body` between BEGIN and COMMIT; a throw rolls back (if the connection still can).
template <class Body>
void pg_transaction(PgConnection& c, Body body) {
    c.exec("BEGIN");
    try {
        body();
        c.exec("COMMIT");
    } catch (...) {
        if (!c.broken()) {
            try {
                c.exec("ROLLBACK");
            } catch (...) {  // the original error is the one worth reporting
            }
        }
        throw;
    }
}

}  // namespace durable
}  // namespace fcgihost
