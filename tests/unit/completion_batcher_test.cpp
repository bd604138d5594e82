// CompletionBatcher (src/durable/completion_batcher.hpp) over a real SqliteJobStore in a
// temp dir, behind a GatedJobStore that can hold or fail its complete().
#include "durable/completion_batcher.hpp"

#include "durable/sqlite_job_store.hpp"
#include "integration/demo_process.hpp"
#include "support/process.hpp"
#include "unit/gated_job_store.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <mutex>

using namespace fcgihost;
using fcgihost::durable::CompletionBatcher;
using fcgihost::testing_support::GatedJobStore;
using fcgihost::testing_support::TempDir;
using fcgihost::testing_support::eventually;

namespace {

// What the batcher reported, batch by batch.
struct Reports {
    std::mutex mutex;
    std::vector<std::size_t> committed;  // batch sizes; guarded by mutex
    std::size_t ours = 0;                // guarded by mutex
    std::vector<std::size_t> failed;     // batch sizes; guarded by mutex
    std::string message;                 // guarded by mutex

    CompletionBatcher::Committed on_commit() {
        return [this](const std::vector<DurableJob>& jobs, std::size_t n) {
            std::lock_guard<std::mutex> lock(mutex);
            committed.push_back(jobs.size());
            ours += n;
        };
    }
    CompletionBatcher::Failed on_error() {
        return [this](const std::vector<DurableJob>& jobs, const std::string& what) {
            std::lock_guard<std::mutex> lock(mutex);
            failed.push_back(jobs.size());
            message = what;
        };
    }
    std::size_t total_committed() {
        std::lock_guard<std::mutex> lock(mutex);
        std::size_t n = 0;
        for (std::size_t b : committed) n += b;
        return n;
    }
};

// `n` jobs enqueued and claimed by `owner`, as workers would hold them.
std::vector<DurableJob> claimed_jobs(JobStore& store, std::size_t n, const JobOwner& owner) {
    std::vector<NewJob> jobs;
    for (std::size_t i = 0; i < n; ++i) jobs.push_back(NewJob{"k", std::to_string(i), {}});
    for (NewJob& j : jobs) j.options.max_attempts = 3;
    store.enqueue_batch(jobs);
    return store.claim(n, {"k"}, owner, std::chrono::seconds(30));
}

}  // namespace

class CompletionBatcherTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CompletionBatcherTest);
    CPPUNIT_TEST(jobs_handed_over_during_a_commit_go_in_one_transaction);
    CPPUNIT_TEST(jobs_taken_over_by_another_owner_are_not_ours);
    CPPUNIT_TEST(destruction_commits_what_was_handed_over);
    CPPUNIT_TEST(a_failed_commit_reports_every_job_of_its_batch);
    CPPUNIT_TEST_SUITE_END();

public:
    void jobs_handed_over_during_a_commit_go_in_one_transaction() {
        TempDir dir;
        GatedJobStore store(std::make_unique<SqliteJobStore>(dir.file("jobs.db")));
        std::vector<DurableJob> jobs = claimed_jobs(store, 5, JobOwner::self());
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), jobs.size());
        Reports reports;
        store.hold_completes(true);
        CompletionBatcher batcher(store, JobOwner::self(), reports.on_commit(), reports.on_error());
        GatedJobStore::Unhold unhold{store};
        batcher.submit(jobs[0]);
        CPPUNIT_ASSERT(eventually([&] { return store.complete_calls() == 1; }, std::chrono::seconds(10)));
        for (std::size_t i = 1; i < jobs.size(); ++i) batcher.submit(jobs[i]);
        store.hold_completes(false);
        CPPUNIT_ASSERT(eventually([&] { return reports.total_committed() == 5; }, std::chrono::seconds(10)));
        std::lock_guard<std::mutex> lock(reports.mutex);
        CPPUNIT_ASSERT(reports.committed == (std::vector<std::size_t>{1, 4}));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), store.complete_calls());
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), reports.ours);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.counts().left());
    }

    void jobs_taken_over_by_another_owner_are_not_ours() {
        TempDir dir;
        GatedJobStore store(std::make_unique<SqliteJobStore>(dir.file("jobs.db")));
        JobOwner other = JobOwner::self();
        other.host = "another-host";
        std::vector<DurableJob> mine = claimed_jobs(store, 2, JobOwner::self());
        std::vector<DurableJob> theirs = claimed_jobs(store, 1, other);
        Reports reports;
        {
            CompletionBatcher batcher(store, JobOwner::self(), reports.on_commit(), reports.on_error());
            batcher.submit(mine[0]);
            batcher.submit(theirs[0]);
            batcher.submit(mine[1]);
        }
        std::lock_guard<std::mutex> lock(reports.mutex);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), reports.ours);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().running);
        CPPUNIT_ASSERT(store.show(theirs[0].id)->owner == other);
    }

    void destruction_commits_what_was_handed_over() {
        TempDir dir;
        GatedJobStore store(std::make_unique<SqliteJobStore>(dir.file("jobs.db")));
        std::vector<DurableJob> jobs = claimed_jobs(store, 50, JobOwner::self());
        Reports reports;
        {
            CompletionBatcher batcher(store, JobOwner::self(), reports.on_commit(), reports.on_error());
            for (const DurableJob& job : jobs) batcher.submit(job);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(50), reports.total_committed());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.counts().left());
    }

    void a_failed_commit_reports_every_job_of_its_batch() {
        TempDir dir;
        GatedJobStore store(std::make_unique<SqliteJobStore>(dir.file("jobs.db")));
        std::vector<DurableJob> jobs = claimed_jobs(store, 3, JobOwner::self());
        store.fail_completes(true);
        Reports reports;
        {
            CompletionBatcher batcher(store, JobOwner::self(), reports.on_commit(), reports.on_error());
            for (const DurableJob& job : jobs) batcher.submit(job);
        }
        std::lock_guard<std::mutex> lock(reports.mutex);
        std::size_t failed = 0;
        for (std::size_t b : reports.failed) failed += b;
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), failed);
        CPPUNIT_ASSERT(reports.committed.empty());
        CPPUNIT_ASSERT(reports.message.find("disk is full") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), store.counts().running);  // recorded nowhere: still ours
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(CompletionBatcherTest, "unit");
