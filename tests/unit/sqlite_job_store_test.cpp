// SqliteJobStore (src/durable/sqlite_job_store.hpp) on a file in a temp dir.
#include "durable/sqlite_job_store.hpp"

#include "support/process.hpp"
#include "unit/job_store_contract.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <sqlite3.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

using namespace fcgihost;
using fcgihost::testing_support::TempDir;

using namespace fcgihost::contract;

namespace {

struct SqliteBackend {
    TempDir dir;
    std::unique_ptr<JobStore> open() { return std::make_unique<SqliteJobStore>(dir.file("jobs.db")); }
};

}  // namespace

class SqliteJobStoreContractTest : public JobStoreContract<SqliteBackend> {
    CPPUNIT_TEST_SUB_SUITE(SqliteJobStoreContractTest, JobStoreContract<SqliteBackend>);
    CPPUNIT_TEST_SUITE_END();
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(SqliteJobStoreContractTest, "unit");

class SqliteJobStoreTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SqliteJobStoreTest);
    CPPUNIT_TEST(schema_version_is_set_and_newer_refused);
    CPPUNIT_TEST(corrupt_file_is_refused_naming_it);
    CPPUNIT_TEST(survives_reopen);
    CPPUNIT_TEST(the_wal_is_checkpointed_and_stays_bounded);
    CPPUNIT_TEST(processes_opening_a_new_file_at_once_all_open_it);
    CPPUNIT_TEST_SUITE_END();

public:
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

    // Checkpoints run after the write lock is released, not inside COMMIT: the WAL must
    // still be copied back and reused, not grow with every transaction.
    void the_wal_is_checkpointed_and_stays_bounded() {
        TempDir dir;
        SqliteJobStore store(dir.file("jobs.db"));
        // 400 transactions of 8 jobs of 2 KiB: over 2,500 frames if nothing were copied back.
        const std::vector<NewJob> batch(8, new_job("work", std::string(2048, 'p')));
        for (int i = 0; i < 400; ++i) store.enqueue_batch(batch);
        struct stat wal {};
        CPPUNIT_ASSERT_EQUAL(0, ::stat(dir.file("jobs.db-wal").c_str(), &wal));
        // A checkpoint starts at 1,000 frames (4 KiB pages and their headers): 1.5x that is slack.
        CPPUNIT_ASSERT_MESSAGE(std::to_string(wal.st_size), wal.st_size < 1500 * 4120);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3200), store.counts().waiting);
    }

    // Switching a new file to WAL mode reads, then writes: without the write lock around it,
    // some of eight processes opening a new file at once failed at once with "database is
    // locked" (in the first round, every time we tried).
    void processes_opening_a_new_file_at_once_all_open_it() {
        constexpr int kRounds = 20;
        constexpr int kProcesses = 8;
        for (int round = 0; round < kRounds; ++round) {
            TempDir dir;
            int go[2];
            CPPUNIT_ASSERT_EQUAL(0, pipe(go));
            std::vector<pid_t> children;
            for (int i = 0; i < kProcesses; ++i) {
                const pid_t pid = fork();
                if (pid == 0) {
                    // Every child waits on the pipe, so that all open the file at the same moment.
                    close(go[1]);
                    char byte;
                    while (read(go[0], &byte, 1) < 0 && errno == EINTR) {}
                    try {
                        SqliteJobStore store(dir.file("jobs.db"));
                        _exit(0);
                    } catch (const std::exception& e) {
                        std::fprintf(stderr, "round %d: %s\n", round, e.what());
                        _exit(1);
                    }
                }
                CPPUNIT_ASSERT(pid > 0);
                children.push_back(pid);
            }
            close(go[0]);
            close(go[1]);  // end of file: every child goes
            int failed = 0;
            for (pid_t pid : children) {
                int status = 0;
                CPPUNIT_ASSERT_EQUAL(pid, waitpid(pid, &status, 0));
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
            }
            CPPUNIT_ASSERT_EQUAL_MESSAGE("round " + std::to_string(round), 0, failed);
        }
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(SqliteJobStoreTest, "unit");
