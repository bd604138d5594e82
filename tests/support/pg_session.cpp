#include "support/pg_session.hpp"

#include <stdexcept>

namespace fcgihost {
namespace testing_support {

PgSession::PgSession(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string why = PQerrorMessage(conn_);
        PQfinish(conn_);
        throw std::runtime_error("cannot connect: " + why);
    }
}

PgSession::~PgSession() { PQfinish(conn_); }

std::string PgSession::exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const ExecStatusType s = PQresultStatus(r);
    std::string out;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        out = PQresultErrorMessage(r);
        PQclear(r);
        throw std::runtime_error(sql + ": " + out);
    }
    if (PQntuples(r) > 0 && PQnfields(r) > 0 && !PQgetisnull(r, 0, 0)) out = PQgetvalue(r, 0, 0);
    PQclear(r);
    return out;
}

}  // namespace testing_support
}  // namespace fcgihost
