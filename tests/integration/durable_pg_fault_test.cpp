// Faults between a demo process and its PostgreSQL job store (docs/durable-jobs.md): a
// claim whose connection is killed while it is in flight, every store connection killed
// while a job runs, and a table locked past the lock timeout. The job runs exactly once,
// nothing accepted is lost, a refused enqueue is a prompt 503, and the process lives on.
#include "integration/durable_demo.hpp"
#include "support/pg_session.hpp"
#include "support/postgres_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>

using namespace fcgihost::testing_support;

namespace {

using Clock = std::chrono::steady_clock;

// Once nothing is waiting or running, the store holds no second chance for any job.
bool store_empty(DemoProcess& demo) {
    const std::string status = demo.get("/status").body;
    return durable_number(status, "waiting") == 0 && durable_number(status, "running") == 0 &&
           durable_number(status, "retrying") == 0;
}

}  // namespace

class DurablePgFaultTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DurablePgFaultTest);
    CPPUNIT_TEST(a_claim_killed_in_flight_runs_the_job_once);
    CPPUNIT_TEST(connections_killed_between_claim_and_complete_lose_nothing);
    CPPUNIT_TEST(a_locked_table_is_a_prompt_503_and_work_resumes);
    CPPUNIT_TEST_SUITE_END();

public:
    void a_claim_killed_in_flight_runs_the_job_once() {
        const std::string conninfo = PostgresProcess::shared().create_database();
        DurableFiles files(conninfo);
        auto demo = files.start({"--workers", "1"});
        // A first job makes the process's heartbeat row, which every claim updates.
        CPPUNIT_ASSERT_EQUAL(202, demo->get("/work?durable=1&ms=0&id=first").status);
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"first"}); }, std::chrono::seconds(10)));
        PgSession blocker(conninfo);
        blocker.exec("BEGIN");
        blocker.exec("SELECT * FROM fcgihost_processes FOR UPDATE");  // the next claim waits here
        CPPUNIT_ASSERT_EQUAL(202, demo->get("/work?durable=1&ms=0&id=m1").status);
        PgSession admin(conninfo);
        std::string claimer;
        CPPUNIT_ASSERT(eventually(
            [&] {
                claimer = admin.exec("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                                     " AND wait_event_type = 'Lock' AND query LIKE '%SKIP LOCKED%'");
                return !claimer.empty();
            },
            std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::string("t"), admin.exec("SELECT pg_terminate_backend(" + claimer + ", 5000)"));
        blocker.exec("ROLLBACK");
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"m1"}); }, std::chrono::seconds(10)));
        CPPUNIT_ASSERT(eventually([&] { return store_empty(*demo); }, std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), files.done_counts().at("m1"));
        CPPUNIT_ASSERT_MESSAGE(demo->log(), demo->log().find("cannot look for due jobs") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(0, demo->stop(SIGTERM));
    }

    void connections_killed_between_claim_and_complete_lose_nothing() {
        const std::string conninfo = PostgresProcess::shared().create_database();
        DurableFiles files(conninfo);
        auto demo = files.start({"--workers", "1"});
        CPPUNIT_ASSERT_EQUAL(202, demo->get("/work?durable=1&ms=1500&id=k1").status);
        CPPUNIT_ASSERT(eventually([&] { return durable_number(demo->get("/status").body, "running") == 1; },
                                  std::chrono::seconds(10)));
        PgSession admin(conninfo);
        // Every connection of the process: its pool and its listener. Waits until they are gone.
        admin.exec("SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                   " WHERE datname = current_database() AND pid <> pg_backend_pid()");
        // Pooled connections the server ended are not reused: no 503 for a server that is up.
        FcgiResponse after = demo->get("/work?durable=1&ms=0&id=k2");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(after.body, 202, after.status);
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"k1", "k2"}); }, std::chrono::seconds(10)));
        CPPUNIT_ASSERT(eventually([&] { return store_empty(*demo); }, std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), files.done_counts().at("k1"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), files.done_counts().at("k2"));
        const std::string log = demo->log();
        CPPUNIT_ASSERT_MESSAGE(log, log.find("cannot record its end") == std::string::npos);
        // The server's goodbye to each session is a log line of ours, not raw libpq text on stderr.
        CPPUNIT_ASSERT_MESSAGE(log, log.find("\nFATAL") == std::string::npos && log.rfind("FATAL", 0) != 0);
        CPPUNIT_ASSERT_EQUAL(0, demo->stop(SIGTERM));
    }

    void a_locked_table_is_a_prompt_503_and_work_resumes() {
        const std::string conninfo = PostgresProcess::shared().create_database();
        DurableFiles files(conninfo);
        auto demo = files.start({"--workers", "1"});
        CPPUNIT_ASSERT_EQUAL(200, demo->get("/status").status);
        PgSession blocker(conninfo);
        blocker.exec("BEGIN");
        blocker.exec("LOCK TABLE fcgihost_jobs IN ACCESS EXCLUSIVE MODE");
        const Clock::time_point sent = Clock::now();
        FcgiResponse refused = demo->get("/work?durable=1&ms=0&id=t1");
        const auto waited = Clock::now() - sent;
        CPPUNIT_ASSERT_EQUAL_MESSAGE(refused.body, 503, refused.status);
        CPPUNIT_ASSERT_MESSAGE(refused.body, refused.body.find("store_error") != std::string::npos);
        // The store's lock_timeout is 5 s: a hung request would wait for the lock forever.
        CPPUNIT_ASSERT(waited < std::chrono::seconds(9));
        blocker.exec("ROLLBACK");
        FcgiResponse accepted = demo->get("/work?durable=1&ms=0&id=t2");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(accepted.body, 202, accepted.status);
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"t2"}); }, std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), files.done_counts().count("t1"));
        const std::string log = demo->log();
        CPPUNIT_ASSERT_MESSAGE(log, log.find("due to statement timeout") != std::string::npos ||
                                        log.find("due to lock timeout") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(0, demo->stop(SIGTERM));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DurablePgFaultTest, "integration");
