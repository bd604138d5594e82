// PgConnection (src/durable/pg_connection.hpp) on a real PostgreSQL 15 started by the test:
// every call has a deadline of its own. A server that stops answering costs a call that
// deadline (even one whose parameter does not fit the socket's buffer) and the connection;
// a slow but living server still reports its own statement timeout first.
#include "durable/pg_connection.hpp"

#include "durable/job_store.hpp"
#include "support/postgres_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <future>
#include <iostream>

using fcgihost::StoreError;
using fcgihost::durable::PgConnection;
using fcgihost::durable::PgParams;
using fcgihost::testing_support::FrozenPostgres;
using fcgihost::testing_support::PostgresProcess;
using Clock = std::chrono::steady_clock;

namespace {

// Far more than a unix socket's buffers hold: the send itself has to wait for the server.
const std::size_t kLarge = 16 * 1024 * 1024;

// The error of one call, or "" if it succeeded (so nothing is thrown across the thread).
std::string error_of(PgConnection& c, const std::string& sql, const PgParams& params = PgParams()) {
    try {
        c.exec(sql, params);
        return "";
    } catch (const StoreError& e) {
        return e.what();
    }
}

long long ms_since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

}  // namespace

class PgConnectionTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PgConnectionTest);
    CPPUNIT_TEST(a_large_parameter_makes_the_round_trip);
    CPPUNIT_TEST(a_slow_server_reports_its_own_timeout_first);
    CPPUNIT_TEST(a_frozen_server_costs_one_deadline_and_the_connection);
    CPPUNIT_TEST_SUITE_END();

public:
    void a_large_parameter_makes_the_round_trip() {
        PgConnection c(PostgresProcess::shared().conninfo(), "test");
        const std::string payload(kLarge, '\0');
        const auto r = c.exec("SELECT octet_length($1::bytea)", PgParams().bytes(payload));
        CPPUNIT_ASSERT_EQUAL(static_cast<std::int64_t>(kLarge), r.integer(0, 0));
        CPPUNIT_ASSERT(!c.broken());
    }

    void a_slow_server_reports_its_own_timeout_first() {
        PgConnection c(PostgresProcess::shared().conninfo(), "test");
        // 6 s is past the session's statement_timeout (5 s) and short of the call's deadline.
        const std::string error = error_of(c, "SELECT pg_sleep(6)");
        CPPUNIT_ASSERT_MESSAGE(error, error.find("statement timeout") != std::string::npos);
        CPPUNIT_ASSERT(c.abandoned().empty());
        CPPUNIT_ASSERT(!c.broken());
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), c.exec("SELECT 1").integer(0, 0));
    }

    void a_frozen_server_costs_one_deadline_and_the_connection() {
        PostgresProcess server;  // its own: this test freezes it
        PgConnection c(server.conninfo(), "test");
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), c.exec("SELECT 1").integer(0, 0));
        const std::string payload(kLarge, 'x');
        std::future<std::string> outcome;  // before the freeze: its wait ends only after the thaw
        Clock::time_point sent;
        long long waited = 0;
        {
            FrozenPostgres frozen(server);
            sent = Clock::now();
            outcome = std::async(std::launch::async, [&] {
                return error_of(c, "SELECT octet_length($1::bytea)", PgParams().bytes(payload));
            });
            const bool returned = outcome.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
            waited = ms_since(sent);
            CPPUNIT_ASSERT_MESSAGE("a call to a frozen server still waits after 20 s", returned);
        }
        const std::string error = outcome.get();
        std::cout << " [gave up after " << waited << " ms] " << std::flush;
        CPPUNIT_ASSERT_MESSAGE(error, error == "no answer from the server within 7 s");
        CPPUNIT_ASSERT(waited >= PgConnection::kAnswerTimeout.count());
        CPPUNIT_ASSERT(c.broken());
        CPPUNIT_ASSERT_EQUAL(error, c.abandoned());
        // Closed, not reused: even with the server back, the next call fails at once.
        const Clock::time_point again = Clock::now();
        CPPUNIT_ASSERT_EQUAL(error, error_of(c, "SELECT 1"));
        CPPUNIT_ASSERT(ms_since(again) < 1000);
        PgConnection fresh(server.conninfo(), "test");
        CPPUNIT_ASSERT_EQUAL(std::int64_t(1), fresh.exec("SELECT 1").integer(0, 0));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(PgConnectionTest, "integration");
