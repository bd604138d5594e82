// One libpq connection and the few calls PgJobStore makes on it. Every call either returns
// a result or throws StoreError with the server's first line; a connection that broke is
// marked so the pool drops it instead of handing it out again.
//
// Every call has a deadline of its own (kAnswerTimeout): a server that stops answering
// without closing the connection (a frozen host, a partition, a paused VM) would otherwise
// keep the caller in recv() until TCP gives up, hours later. The server's own timeouts only
// help while it runs. Past the deadline the connection is closed and the call throws.
#pragma once

#include <libpq-fe.h>

#include <chrono>
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

    // A little over the session's statement_timeout (5 s, which lock waits count towards),
    // so that a slow but living server still reports its own error first.
    static constexpr std::chrono::milliseconds kAnswerTimeout{7000};

    // Throws StoreError on the server's error, on a lost connection, or when no answer came
    // within kAnswerTimeout; the connection is closed then (abandoned() says why).
    PgResult exec(const std::string& sql, const PgParams& params = PgParams());
    bool broken() const;
    // Why this side closed the connection (the server did not answer in time); empty if it
    // did not. The pool takes it for an outage, as a failed connect.
    const std::string& abandoned() const { return abandoned_; }
    // True if an idle connection has input waiting. Nothing is owed to an idle session, so
    // that is the server's goodbye (pg_terminate_backend, a restart) or a notice: such a
    // connection is not reused, and a claim is never sent on a connection already dead,
    // where its fate would be unknown. No round trip.
    bool idle_input_pending() const;
    PGconn* raw() { return conn_; }  // nullptr once abandoned

private:
    [[noreturn]] void abandon(const std::string& why);
    // The poll(2) events that came before `deadline`; 0 once it passed.
    short await(short events, std::chrono::steady_clock::time_point deadline);

    PGconn* conn_ = nullptr;
    std::string abandoned_;
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
