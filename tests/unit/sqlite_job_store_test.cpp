// SqliteJobStore (src/durable/sqlite_job_store.hpp) on a file in a temp dir.
#include "durable/sqlite_job_store.hpp"

#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <sqlite3.h>

#include <fstream>

using namespace fcgihost;
using fcgihost::testing_support::TempDir;

namespace {

NewJob new_job(const std::string& kind, const std::string& payload, const std::string& key = "", unsigned max = 3) {
    NewJob j{kind, payload, {}};
    j.options.unique_key = key;
    j.options.max_attempts = max;
    return j;
}

const std::vector<std::string> kKinds = {"work"};

// An owner on this host whose process is gone: pid 2^22 + 1 is above the kernel's limit.
JobOwner dead_owner() {
    JobOwner o = JobOwner::self();
    o.pid = 4194305;
    return o;
}

}  // namespace

class SqliteJobStoreTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SqliteJobStoreTest);
    CPPUNIT_TEST(enqueue_claim_complete);
    CPPUNIT_TEST(payload_bytes_come_back_exactly);
    CPPUNIT_TEST(unique_key_is_a_duplicate_while_waiting_or_running_only);
    CPPUNIT_TEST(failure_retries_later_then_dead_with_its_error);
    CPPUNIT_TEST(release_uses_no_attempt);
    CPPUNIT_TEST(unknown_kinds_wait);
    CPPUNIT_TEST(delay_makes_a_job_scheduled);
    CPPUNIT_TEST(rescue_frees_jobs_of_a_dead_owner_only);
    CPPUNIT_TEST(dead_job_retry_and_delete);
    CPPUNIT_TEST(schema_version_is_set_and_newer_refused);
    CPPUNIT_TEST(corrupt_file_is_refused_naming_it);
    CPPUNIT_TEST(survives_reopen);
    CPPUNIT_TEST_SUITE_END();

public:
    void enqueue_claim_complete() {
        TempDir dir;
        SqliteJobStore store(dir.file("jobs.db"));
        std::vector<EnqueueResult> r = store.enqueue_batch({new_job("work", "a"), new_job("work", "b")});
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.size());
        CPPUNIT_ASSERT(r[0].accepted() && r[1].accepted() && r[0].id != r[1].id);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), store.counts().waiting);
        std::vector<DurableJob> got = store.claim(5, kKinds, JobOwner::self(), std::chrono::seconds(30));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), got.size());
        CPPUNIT_ASSERT_EQUAL(1u, got[0].attempt);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), store.counts().running);
        CPPUNIT_ASSERT(store.claim(5, kKinds, JobOwner::self(), std::chrono::seconds(30)).empty());
        store.complete(got[0].id);
        store.complete(got[1].id);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.counts().left());
    }

    void payload_bytes_come_back_exactly() {
        TempDir dir;
        SqliteJobStore store(dir.file("jobs.db"));
        const std::string bytes("a\0b\n\xff", 5);
        store.enqueue_batch({new_job("work", bytes)});
        CPPUNIT_ASSERT(bytes == store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0).payload);
    }

    void unique_key_is_a_duplicate_while_waiting_or_running_only() {
        TempDir dir;
        SqliteJobStore store(dir.file("jobs.db"));
        EnqueueResult first = store.enqueue_batch({new_job("work", "", "k", 1)}).at(0);
        std::vector<EnqueueResult> again = store.enqueue_batch({new_job("work", "", "k"), new_job("work", "", "other")});
        CPPUNIT_ASSERT(again[0].status == EnqueueStatus::duplicate);
        CPPUNIT_ASSERT_EQUAL(first.id, again[0].id);
        CPPUNIT_ASSERT(again[1].accepted());
        DurableJob job = store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0);
        CPPUNIT_ASSERT_EQUAL(first.id, job.id);
        CPPUNIT_ASSERT(store.enqueue_batch({new_job("work", "", "k")}).at(0).status == EnqueueStatus::duplicate);
        CPPUNIT_ASSERT(store.fail(job.id, "boom", std::chrono::milliseconds(0)));  // max 1: dead
        CPPUNIT_ASSERT(store.enqueue_batch({new_job("work", "", "k")}).at(0).accepted());
    }

    void failure_retries_later_then_dead_with_its_error() {
        TempDir dir;
        SqliteJobStore store(dir.file("jobs.db"));
        std::int64_t id = store.enqueue_batch({new_job("work", "p", "", 2)}).at(0).id;
        store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30));
        CPPUNIT_ASSERT(!store.fail(id, "first", std::chrono::hours(1)));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().retrying);
        CPPUNIT_ASSERT(store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).empty());  // not due
        StoredJob shown = *store.show(id);
        CPPUNIT_ASSERT(shown.state == StoredState::retrying);
        CPPUNIT_ASSERT(shown.run_at_ms > unix_ms_now() + 3500 * 1000);
        CPPUNIT_ASSERT(store.fail(id, "x", std::chrono::milliseconds(0)));  // attempt 2 of 2: dead
        shown = *store.show(id);
        CPPUNIT_ASSERT(shown.state == StoredState::dead);
        CPPUNIT_ASSERT_EQUAL(std::string("x"), shown.last_error);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().dead);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.list(StoredState::dead, 10).size());
    }

    void release_uses_no_attempt() {
        TempDir dir;
        SqliteJobStore store(dir.file("jobs.db"));
        store.enqueue_batch({new_job("work", "p")});
        DurableJob job = store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0);
        store.release(job.id);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().waiting);
        CPPUNIT_ASSERT_EQUAL(1u, store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0).attempt);
    }

    void unknown_kinds_wait() {
        TempDir dir;
        SqliteJobStore store(dir.file("jobs.db"));
        store.enqueue_batch({new_job("newer-kind", "p")});
        CPPUNIT_ASSERT(store.claim(5, kKinds, JobOwner::self(), std::chrono::seconds(30)).empty());
        CPPUNIT_ASSERT(!store.next_due(kKinds));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().waiting);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.claim(5, {"newer-kind"}, JobOwner::self(), std::chrono::seconds(30)).size());
    }

    void delay_makes_a_job_scheduled() {
        TempDir dir;
        SqliteJobStore store(dir.file("jobs.db"));
        NewJob later = new_job("work", "p");
        later.options.delay = std::chrono::hours(1);
        store.enqueue_batch({later});
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().scheduled);
        CPPUNIT_ASSERT(store.claim(5, kKinds, JobOwner::self(), std::chrono::seconds(30)).empty());
        CPPUNIT_ASSERT(*store.next_due(kKinds) > unix_ms_now() + 3500 * 1000);
    }

    void rescue_frees_jobs_of_a_dead_owner_only() {
        TempDir dir;
        SqliteJobStore store(dir.file("jobs.db"));
        store.enqueue_batch({new_job("work", "mine"), new_job("work", "theirs")});
        store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30));
        store.claim(1, kKinds, dead_owner(), std::chrono::seconds(30));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.rescue());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().running);
        DurableJob again = store.claim(5, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0);
        CPPUNIT_ASSERT_EQUAL(std::string("theirs"), again.payload);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.rescue());
    }

    void dead_job_retry_and_delete() {
        TempDir dir;
        SqliteJobStore store(dir.file("jobs.db"));
        std::int64_t id = store.enqueue_batch({new_job("work", "p", "", 1)}).at(0).id;
        store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30));
        CPPUNIT_ASSERT(!store.remove(id));  // running: not deletable
        store.fail(id, "boom", std::chrono::milliseconds(0));
        CPPUNIT_ASSERT(store.retry_dead(id));
        CPPUNIT_ASSERT(!store.retry_dead(id));  // no longer dead
        CPPUNIT_ASSERT_EQUAL(1u, store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0).attempt);
        store.fail(id, "boom", std::chrono::milliseconds(0));
        CPPUNIT_ASSERT(store.remove(id));
        CPPUNIT_ASSERT(!store.show(id));
    }

    void schema_version_is_set_and_newer_refused() {
        TempDir dir;
        const std::string path = dir.file("jobs.db");
        { SqliteJobStore store(path); }
        sqlite3* db = nullptr;
        sqlite3_open(path.c_str(), &db);
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
        sqlite3_step(st);
        CPPUNIT_ASSERT_EQUAL(SqliteJobStore::kSchemaVersion, sqlite3_column_int(st, 0));
        sqlite3_finalize(st);
        sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
        sqlite3_close(db);
        try {
            SqliteJobStore store(path);
            CPPUNIT_FAIL("a newer schema was opened");
        } catch (const StoreError& e) {
            CPPUNIT_ASSERT(std::string(e.what()).find("newer") != std::string::npos);
        }
    }

    void corrupt_file_is_refused_naming_it() {
        TempDir dir;
        const std::string path = dir.file("jobs.db");
        std::ofstream(path) << std::string(8192, 'x');
        try {
            SqliteJobStore store(path);
            CPPUNIT_FAIL("a corrupt file was opened");
        } catch (const StoreError& e) {
            const std::string what = e.what();
            CPPUNIT_ASSERT_MESSAGE(what, what.find(path) != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(what, what.find("not a database") != std::string::npos);
        }
    }

    void survives_reopen() {
        TempDir dir;
        std::int64_t id;
        {
            SqliteJobStore store(dir.file("jobs.db"));
            id = store.enqueue_batch({new_job("work", "kept")}).at(0).id;
        }
        SqliteJobStore again(dir.file("jobs.db"));
        CPPUNIT_ASSERT_EQUAL(std::string("kept"), again.show(id)->job.payload);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(SqliteJobStoreTest, "unit");
