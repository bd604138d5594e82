#include "durable/pg_connection.hpp"

#include "durable/job_store.hpp"
#include "fcgihost/log.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace fcgihost {
namespace durable {
namespace {

using Clock = std::chrono::steady_clock;

// Bounds every call: a request thread waiting on enqueue never hangs past these.
const char* const kConnectTimeoutSeconds = "5";
// synchronous_commit=off: a claim, an end, a heartbeat or a rescue lost with the server's
// last moments before a crash (never a process's) only makes a job run again, which
// at-least-once allows; it saves a WAL flush per commit. What the store promises to keep (an
// accepted enqueue, an operator's retry or removal) commits with SET LOCAL
// synchronous_commit = on (PgJobStore's durable_transaction).
const char* const kSessionOptions = "-c statement_timeout=5000 -c lock_timeout=5000 -c synchronous_commit=off"
                                    " -c idle_in_transaction_session_timeout=30000";

bool succeeded(const PGresult* r) {
    const ExecStatusType status = PQresultStatus(r);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

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
    try {
        // Non-blocking sends: a payload larger than the socket's buffer, sent to a server that
        // stopped reading, would otherwise block in send() past any deadline, and so would the
        // goodbye PQfinish sends. Set while nothing is queued: with output pending, switching
        // would flush it blocking.
        if (PQsetnonblocking(conn_, 1) != 0) throw StoreError(first_line(PQerrorMessage(conn_)));
        exec("SET client_min_messages = warning");  // no NOTICE lines from IF NOT EXISTS
    } catch (const StoreError& e) {
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
        throw StoreError("job store " + shown + ": " + e.what());
    }
}

PgConnection::~PgConnection() {
    if (conn_) PQfinish(conn_);
}

bool PgConnection::broken() const { return !conn_ || PQstatus(conn_) != CONNECTION_OK; }

bool PgConnection::idle_input_pending() const {
    pollfd p{conn_ ? PQsocket(conn_) : -1, POLLIN, 0};
    return p.fd < 0 || poll(&p, 1, 0) != 0;
}

void PgConnection::abandon(const std::string& why) {
    // Its late answer could not be told from the next call's, so the connection goes: the
    // server, if it wakes, finds the session ended and rolls back what it left open.
    PQfinish(conn_);
    conn_ = nullptr;
    abandoned_ = why;
    throw StoreError(why);
}

short PgConnection::await(short events, Clock::time_point deadline) {
    for (;;) {
        const long long left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return 0;
        pollfd p{PQsocket(conn_), events, 0};
        if (p.fd < 0) return events;  // already closed: libpq's next call says why, at once
        const int n = poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
        if (n > 0) return p.revents;  // an error or hang-up included: libpq's next read reports it
        if (n < 0 && errno != EINTR) abandon(std::string("cannot wait for the server: ") + std::strerror(errno));
    }
}

PgResult PgConnection::exec(const std::string& sql, const PgParams& p) {
    if (!conn_) throw StoreError(abandoned_);
    std::vector<const char*> values;
    std::vector<int> lengths;
    for (std::size_t i = 0; i < p.values_.size(); ++i) {
        values.push_back(p.is_null_[i] ? nullptr : p.values_[i].data());
        lengths.push_back(static_cast<int>(p.values_[i].size()));
    }
    static const std::string no_answer =
        "no answer from the server within " + std::to_string(kAnswerTimeout.count() / 1000) + " s";
    const Clock::time_point deadline = Clock::now() + kAnswerTimeout;
    if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                           lengths.data(), p.formats_.data(), 0)) {
        throw StoreError(first_line(PQerrorMessage(conn_)));
    }
    for (;;) {
        const int flushed = PQflush(conn_);
        if (flushed == 0) break;
        if (flushed < 0) throw StoreError(first_line(PQerrorMessage(conn_)));
        // Read while waiting to write: a server blocked on sending to us stops reading.
        const short ready = await(POLLIN | POLLOUT, deadline);
        if (ready == 0) abandon(no_answer);
        if ((ready & POLLIN) != 0 && !PQconsumeInput(conn_)) break;  // lost: PQgetResult says so
    }
    std::unique_ptr<PGresult, void (*)(PGresult*)> kept(nullptr, &PQclear);
    for (;;) {
        while (PQisBusy(conn_)) {
            if (await(POLLIN, deadline) == 0) abandon(no_answer);
            if (!PQconsumeInput(conn_)) {
                // A lost connection makes PQisBusy false and PQgetResult answer at once; any
                // other failure would leave PQgetResult waiting without a bound.
                if (PQstatus(conn_) == CONNECTION_OK) abandon(first_line(PQerrorMessage(conn_)));
                break;
            }
        }
        PGresult* r = PQgetResult(conn_);
        if (!r) break;
        // One statement, one result; were there more, the first error is the one to report.
        if (kept && !succeeded(kept.get())) PQclear(r);
        else kept.reset(r);
    }
    if (!kept || !succeeded(kept.get())) {
        throw StoreError(first_line(kept ? PQresultErrorMessage(kept.get()) : PQerrorMessage(conn_)));
    }
    return PgResult(kept.release());
}

}  // namespace durable
}  // namespace fcgihost
