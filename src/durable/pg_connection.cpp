#include "durable/pg_connection.hpp"

#include "durable/job_store.hpp"
#include "fcgihost/log.hpp"

#include <poll.h>

namespace fcgihost {
namespace durable {
namespace {

// Bounds every call: a request thread waiting on enqueue never hangs past these.
const char* const kConnectTimeoutSeconds = "5";
// synchronous_commit=off: a claim, an end, a heartbeat or a rescue lost with the server's
// last moments before a crash (never a process's) only makes a job run again, which
// at-least-once allows; it saves a WAL flush per commit. What the store promises to keep (an
// accepted enqueue, an operator's retry or removal) commits with SET LOCAL
// synchronous_commit = on (PgJobStore's durable_transaction).
const char* const kSessionOptions = "-c statement_timeout=5000 -c lock_timeout=5000 -c synchronous_commit=off"
                                    " -c idle_in_transaction_session_timeout=30000";

std::string first_line(const char* message) {
    std::string s = message ? message : "";
    std::size_t end = s.find('\n');
    if (end != std::string::npos) s.resize(end);
    return s.empty() ? "unknown error" : s;
}

}  // namespace

PgParams& PgParams::text(std::string value) {
    values_.push_back(std::move(value));
    is_null_.push_back(false);
    formats_.push_back(0);
    return *this;
}

PgParams& PgParams::bytes(std::string value) {
    text(std::move(value));
    formats_.back() = 1;
    return *this;
}

PgParams& PgParams::null() {
    text("");
    is_null_.back() = true;
    return *this;
}

PgParams& PgParams::text_array(const std::vector<std::string>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char ch : values[i]) {
            if (ch == '"' || ch == '\\') out += '\\';
            out += ch;
        }
        out += '"';
    }
    return text(out + "}");
}

std::string PgResult::text(int row, int col) const { return is_null(row, col) ? "" : PQgetvalue(r_.get(), row, col); }

std::int64_t PgResult::integer(int row, int col) const {
    return is_null(row, col) ? 0 : std::stoll(PQgetvalue(r_.get(), row, col));
}

std::string PgResult::bytes(int row, int col) const {
    std::size_t length = 0;
    unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)), &length);
    if (!raw) throw StoreError("cannot decode a payload");
    std::string out(reinterpret_cast<const char*>(raw), length);
    PQfreemem(raw);
    return out;
}

std::int64_t PgResult::affected() const {
    const char* n = PQcmdTuples(r_.get());
    return n && *n ? std::stoll(n) : 0;
}

PgConnection::PgConnection(const std::string& conninfo, const std::string& shown) {
    // Defaults first: expand_dbname lets the user's conninfo override them.
    const char* keys[] = {"connect_timeout", "options", "application_name", "dbname", nullptr};
    const char* values[] = {kConnectTimeoutSeconds, kSessionOptions, "fcgihost", conninfo.c_str(), nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
        std::string why = conn_ ? first_line(PQerrorMessage(conn_)) : "out of memory";
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
        throw StoreError("job store " + shown + ": cannot connect: " + why);
    }
    // libpq writes server notices to stderr raw; they go through the log, one line each. A
    // FATAL one is the server ending the session, which the caller reports when it notices.
    PQsetNoticeProcessor(
        conn_,
        [](void*, const char* message) {
            const std::string line = first_line(message);
            if (line.rfind("FATAL", 0) == 0) log_debug("job store: ", line);
            else log_warn("job store: ", line);
        },
        nullptr);
    PGresult* r = PQexec(conn_, "SET client_min_messages = warning");  // no NOTICE lines from IF NOT EXISTS
    PQclear(r);
}

PgConnection::~PgConnection() {
    if (conn_) PQfinish(conn_);
}

bool PgConnection::broken() const { return PQstatus(conn_) != CONNECTION_OK; }

bool PgConnection::idle_input_pending() const {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    return p.fd < 0 || poll(&p, 1, 0) != 0;
}

PgResult PgConnection::exec(const std::string& sql, const PgParams& p) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    for (std::size_t i = 0; i < p.values_.size(); ++i) {
        values.push_back(p.is_null_[i] ? nullptr : p.values_[i].data());
        lengths.push_back(static_cast<int>(p.values_[i].size()));
    }
    PGresult* raw = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                 lengths.data(), p.formats_.data(), 0);
    const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    PgResult result(raw);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        throw StoreError(first_line(raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_)));
    }
    return result;
}

}  // namespace durable
}  // namespace fcgihost
