// PgJobStore (src/durable/pg_job_store.hpp) on a real PostgreSQL 15 started by the test:
// the shared store contract, then what only a server shared by several processes has.
#include "durable/pg_job_store.hpp"

#include "integration/demo_process.hpp"
#include "support/pg_session.hpp"
#include "support/postgres_process.hpp"
#include "unit/job_store_contract.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <set>
#include <thread>

using namespace fcgihost;
using namespace fcgihost::contract;
using fcgihost::testing_support::PostgresProcess;
using fcgihost::testing_support::TempDir;

namespace {

struct PgBackend {
    std::string conninfo = PostgresProcess::shared().create_database();
    std::unique_ptr<JobStore> open() { return std::make_unique<PgJobStore>(conninfo); }
};

}  // namespace

class PgJobStoreContractTest : public JobStoreContract<PgBackend> {
    CPPUNIT_TEST_SUB_SUITE(PgJobStoreContractTest, JobStoreContract<PgBackend>);
    CPPUNIT_TEST_SUITE_END();
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(PgJobStoreContractTest, "integration");

class PgJobStoreTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PgJobStoreTest);
    CPPUNIT_TEST(unreachable_server_fails_fast_without_the_password);
    CPPUNIT_TEST(processes_starting_together_on_an_empty_database_do_not_race);
    CPPUNIT_TEST(newer_schema_is_refused);
    CPPUNIT_TEST(concurrent_claimers_never_share_a_job);
    CPPUNIT_TEST(a_silent_owner_is_rescued_after_the_heartbeat_timeout);
    CPPUNIT_TEST(rows_of_a_claim_whose_answer_was_lost_are_freed);
    CPPUNIT_TEST_SUITE_END();

public:
    void unreachable_server_fails_fast_without_the_password() {
        TempDir dir;  // no server listens here
        const auto start = std::chrono::steady_clock::now();
        try {
            PgJobStore store("postgresql://app:hunter2@/jobs?host=" + dir.path());
            CPPUNIT_FAIL("connected to nothing");
        } catch (const StoreError& e) {
            const std::string what = e.what();
            CPPUNIT_ASSERT_MESSAGE(what, what.find("hunter2") == std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(what, what.find("cannot connect") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(what, what.find("app:***@") != std::string::npos);
        }
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - start < std::chrono::seconds(6));
    }

    void processes_starting_together_on_an_empty_database_do_not_race() {
        const std::string conninfo = PostgresProcess::shared().create_database();
        std::atomic<int> failures{0};
        std::vector<std::thread> starters;
        for (int i = 0; i < 6; ++i) {
            starters.emplace_back([&] {
                try {
                    PgJobStore store(conninfo);
                    store.enqueue_batch({new_job("work", "x")});
                } catch (const std::exception&) {
                    ++failures;
                }
            });
        }
        for (std::thread& t : starters) t.join();
        CPPUNIT_ASSERT_EQUAL(0, failures.load());
        PgJobStore store(conninfo);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(6), store.counts().waiting);
    }

    void newer_schema_is_refused() {
        const std::string conninfo = PostgresProcess::shared().create_database();
        { PgJobStore store(conninfo); }
        const std::string db = conninfo.substr(conninfo.find("dbname=") + 7);
        PostgresProcess::shared().sql("INSERT INTO fcgihost_schema VALUES (99)", db);
        try {
            PgJobStore store(conninfo);
            CPPUNIT_FAIL("a newer schema was opened");
        } catch (const StoreError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("newer") != std::string::npos);
        }
    }

    void concurrent_claimers_never_share_a_job() {
        PgBackend backend;
        std::unique_ptr<JobStore> store = backend.open();
        std::vector<NewJob> jobs;
        for (int i = 0; i < 400; ++i) jobs.push_back(new_job("work", std::to_string(i)));
        store->enqueue_batch(jobs);
        std::vector<std::vector<std::int64_t>> got(4);
        std::vector<std::thread> claimers;
        for (std::size_t t = 0; t < got.size(); ++t) {
            claimers.emplace_back([&, t] {
                std::unique_ptr<JobStore> mine = backend.open();
                for (;;) {
                    std::vector<DurableJob> batch = mine->claim(7, kKinds, JobOwner::self(), std::chrono::seconds(30));
                    if (batch.empty()) return;
                    for (const DurableJob& j : batch) got[t].push_back(j.id);
                }
            });
        }
        for (std::thread& t : claimers) t.join();
        std::set<std::int64_t> all;
        std::size_t total = 0;
        for (const auto& g : got) {
            total += g.size();
            all.insert(g.begin(), g.end());
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(400), total);
        CPPUNIT_ASSERT_EQUAL(std::size_t(400), all.size());
    }

    void a_silent_owner_is_rescued_after_the_heartbeat_timeout() {
        PgBackend backend;
        std::unique_ptr<JobStore> store = backend.open();
        store->enqueue_batch({new_job("work", "p")});
        JobOwner remote = JobOwner::self();
        remote.host = "a-host-that-stopped";  // not this host: only its heartbeat can tell
        store->claim(1, kKinds, remote, std::chrono::minutes(10));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), store->rescue());
        const std::string db = backend.conninfo.substr(backend.conninfo.find("dbname=") + 7);
        PostgresProcess::shared().sql("UPDATE fcgihost_processes SET heartbeat = heartbeat - " +
                                          std::to_string(PgJobStore::kHeartbeatTimeout.count() + 1000) +
                                          " WHERE host = 'a-host-that-stopped'",
                                      db);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store->rescue());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store->counts().waiting);
    }

    void rows_of_a_claim_whose_answer_was_lost_are_freed() {
        PgBackend backend;
        std::unique_ptr<JobStore> store = backend.open();
        // A second store in this process has the same owner: a row it claims is, to `store`,
        // exactly what a claim that committed but never answered leaves behind.
        PgJobStore twin(backend.conninfo);
        store->enqueue_batch({new_job("work", "orphan")});
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), twin.claim(1, kKinds, JobOwner::self(), std::chrono::minutes(10)).size());
        store->enqueue_batch({new_job("work", "next")});
        // `store`'s next claim waits on the heartbeat row, and its connection is killed there.
        fcgihost::testing_support::PgSession blocker(backend.conninfo);
        blocker.exec("BEGIN");
        blocker.exec("SELECT * FROM fcgihost_processes FOR UPDATE");
        std::atomic<bool> failed{false};
        std::thread claimer([&] {
            try {
                store->claim(1, kKinds, JobOwner::self(), std::chrono::minutes(10));
            } catch (const StoreError&) {
                failed = true;
            }
        });
        fcgihost::testing_support::PgSession admin(backend.conninfo);
        std::string pid;
        const bool found = fcgihost::testing_support::eventually(
            [&] {
                pid = admin.exec("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                                 " AND wait_event_type = 'Lock' AND query LIKE '%SKIP LOCKED%'");
                return !pid.empty();
            },
            std::chrono::seconds(10));
        if (found) admin.exec("SELECT pg_terminate_backend(" + pid + ", 5000)");
        blocker.exec("ROLLBACK");
        claimer.join();
        CPPUNIT_ASSERT(found);
        CPPUNIT_ASSERT(failed.load());
        // The killed claim may have committed: what runs here unheld goes back.
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store->rescue());
        StoredCounts counts = store->counts();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), counts.waiting);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), counts.running);
        // Settled: rows claimed later are held, and the next rescue leaves them alone.
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), store->claim(2, kKinds, JobOwner::self(), std::chrono::minutes(10)).size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), store->rescue());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), store->counts().running);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(PgJobStoreTest, "integration");
