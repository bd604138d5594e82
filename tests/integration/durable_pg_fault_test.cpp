// Faults between a demo process and its PostgreSQL job store (docs/durable-jobs.md): a
// claim whose connection is killed while it is in flight, every store connection killed
// while a job runs, a table locked past the lock timeout, and a server that stops answering
// without closing its connections. The job runs exactly once, nothing accepted is lost, a
// refused enqueue is a prompt 503, and the process lives on (or stops when told to).
#include "integration/durable_demo.hpp"
#include "support/log_text.hpp"
#include "support/pg_session.hpp"
#include "support/postgres_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>

#include <iostream>

using namespace fcgihost::testing_support;

namespace {

using Clock = std::chrono::steady_clock;

// Once nothing is waiting or running, the store holds no second chance for any job.
bool store_empty(DemoProcess& demo) {
    const std::string status = demo.get("/status").body;
    return durable_number(status, "waiting") == 0 && durable_number(status, "running") == 0 &&
           durable_number(status, "retrying") == 0;
}

// A request that waits up to `limit` for its answer (fcgi_get gives up after 10 s); status 0
// and the client's error as body if none came.
FcgiResponse get_within(const DemoProcess& demo, const std::string& uri, std::chrono::milliseconds limit) {
    try {
        FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
        c.set_timeout(limit);
        return c.request(cgi_params("GET", uri));
    } catch (const FcgiError& e) {
        FcgiResponse none;
        none.body = e.what();
        return none;
    }
}

// A job that runs through a freeze and one that waits behind it (one worker): the store
// owes both a run afterwards.
void start_two_jobs(DemoProcess& demo) {
    CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?durable=1&ms=2500&id=r1").status);
    CPPUNIT_ASSERT(eventually([&] { return durable_number(demo.get("/status").body, "running") == 1; },
                              std::chrono::seconds(10)));
    CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?durable=1&ms=0&id=w1").status);
}

}  // namespace

class DurablePgFaultTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DurablePgFaultTest);
    CPPUNIT_TEST(a_claim_killed_in_flight_runs_the_job_once);
    CPPUNIT_TEST(connections_killed_between_claim_and_complete_lose_nothing);
    CPPUNIT_TEST(a_locked_table_is_a_prompt_503_and_work_resumes);
    CPPUNIT_TEST(a_frozen_server_costs_a_bounded_503_and_loses_nothing);
    CPPUNIT_TEST(a_stop_during_a_freeze_is_bounded_and_the_next_process_runs_the_jobs);
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

    void a_frozen_server_costs_a_bounded_503_and_loses_nothing() {
        PostgresProcess server;  // its own: this test freezes it
        DurableFiles files(server.create_database());
        auto demo = files.start({"--workers", "1"});
        start_two_jobs(*demo);
        {
            FrozenPostgres frozen(server);
            // f1 waits out the store's 7 s deadline, f2 finds the outage known and fails at
            // once: 15 s leaves room for a loaded machine and is far below "never".
            for (const char* id : {"f1", "f2"}) {
                const Clock::time_point sent = Clock::now();
                FcgiResponse refused = get_within(*demo, std::string("/work?durable=1&ms=0&id=") + id,
                                                  std::chrono::seconds(30));
                const auto waited = Clock::now() - sent;
                CPPUNIT_ASSERT_EQUAL_MESSAGE(refused.body + "\n" + demo->log(), 503, refused.status);
                CPPUNIT_ASSERT_MESSAGE(refused.body, refused.body.find("store_error") != std::string::npos);
                CPPUNIT_ASSERT(waited < std::chrono::seconds(15));
                std::cout << " [" << id << ": 503 after "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms] "
                          << std::flush;
            }
            // The request threads are free: what needs no store answers, and so does /status.
            CPPUNIT_ASSERT_EQUAL(200, get_within(*demo, "/", std::chrono::seconds(15)).status);
            CPPUNIT_ASSERT_EQUAL(200, get_within(*demo, "/status", std::chrono::seconds(15)).status);
        }
        CPPUNIT_ASSERT(eventually(
            [&] { return get_within(*demo, "/work?durable=1&ms=0&id=g1", std::chrono::seconds(15)).status == 202; },
            std::chrono::seconds(30), std::chrono::milliseconds(100)));
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"r1", "w1", "g1"}); }, std::chrono::seconds(20)));
        CPPUNIT_ASSERT(eventually([&] { return store_empty(*demo); }, std::chrono::seconds(20)));
        const std::string log = demo->log();
        // One line when the freeze is noticed and one when it is over (the connections that
        // waited through it may answer before any new connect), however many calls failed.
        // Which call notices first varies: a call on an open connection ("no answer ... 7 s"),
        // or a new connect that times out first (libpq's "timeout expired" after 5 s; seen
        // under TSan, where a maintenance call found no idle connection).
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(1), occurrences(log, "reconnecting with backoff"));
        CPPUNIT_ASSERT_MESSAGE(log, log.find("no answer from the server within 7 s") != std::string::npos ||
                                        log.find("timeout expired") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(1),
                                     occurrences(log, "connected again after") + occurrences(log, "answering again after"));
        CPPUNIT_ASSERT_EQUAL(0, demo->stop(SIGTERM));
    }

    void a_stop_during_a_freeze_is_bounded_and_the_next_process_runs_the_jobs() {
        PostgresProcess server;  // its own: this test freezes it
        DurableFiles files(server.create_database());
        auto demo = files.start({"--workers", "1"});
        start_two_jobs(*demo);
        {
            FrozenPostgres frozen(server);
            // The running job's 2.5 s, its end's 7 s deadline, and at most one more deadline
            // (or a 5 s connect) for a thread the teardown joins: 16.5 s. Without a deadline
            // the stop waits for the server for ever.
            const Clock::time_point sent = Clock::now();
            const int code = demo->stop(SIGTERM, std::chrono::seconds(60));
            const auto waited = Clock::now() - sent;
            // What could not be recorded stays in the store for the next start: no lost work.
            CPPUNIT_ASSERT_EQUAL_MESSAGE(demo->log(), 0, code);
            CPPUNIT_ASSERT_MESSAGE(demo->log(), waited < std::chrono::seconds(25));
            std::cout << " [stopped after " << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()
                      << " ms] " << std::flush;
        }
        // r1's end was never recorded and w1 never claimed: the next process owes both a run.
        auto next = files.start({"--workers", "1"});
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"r1", "w1"}); }, std::chrono::seconds(20)));
        CPPUNIT_ASSERT(eventually([&] { return store_empty(*next); }, std::chrono::seconds(20)));
        CPPUNIT_ASSERT_EQUAL(0, next->stop(SIGTERM));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DurablePgFaultTest, "integration");
