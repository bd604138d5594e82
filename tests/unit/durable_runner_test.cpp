// DurableRunner (src/durable/durable_runner.hpp) over a real SqliteJobStore in a temp dir.
#include "durable/durable_runner.hpp"

#include "durable/sqlite_job_store.hpp"
#include "fcgihost/testing_durable.hpp"
#include "integration/demo_process.hpp"
#include "support/process.hpp"
#include "unit/gated_job_store.hpp"

#include "fcgihost/log.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>

using namespace fcgihost;
using fcgihost::durable::DurableRunner;
using fcgihost::testing_support::GatedJobStore;
using fcgihost::testing_support::TempDir;
using fcgihost::testing_support::eventually;

namespace {

DurableOptions fast_options();

std::unique_ptr<DurableRunner> make_runner(const TempDir& dir, unsigned workers = 2) {
    const DurableOptions o = fast_options();
    return std::make_unique<DurableRunner>(std::make_unique<SqliteJobStore>(dir.file("jobs.db")), o, workers, 1000);
}

DurableOptions fast_options() {
    DurableOptions o;
    o.retry_base = std::chrono::milliseconds(20);
    o.max_attempts = 3;
    return o;
}

// Log lines go to a file of the test's for as long as it lives.
class LogFile {
public:
    explicit LogFile(const TempDir& dir) : path_(dir.file("log")) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CPPUNIT_ASSERT(fd_ >= 0);
        log_set_fd(fd_);
    }
    ~LogFile() {
        log_set_fd(2);
        ::close(fd_);
    }
    std::string text() const { return testing_support::read_file(path_); }

private:
    std::string path_;
    int fd_ = -1;
};

}  // namespace

class DurableRunnerTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DurableRunnerTest);
    CPPUNIT_TEST(accepted_jobs_run_and_are_deleted);
    CPPUNIT_TEST(unknown_kind_and_oversized_payload_are_refused);
    CPPUNIT_TEST(failures_retry_with_growing_attempts_then_succeed);
    CPPUNIT_TEST(past_max_attempts_the_job_is_dead);
    CPPUNIT_TEST(cancelled_job_goes_back_without_an_attempt);
    CPPUNIT_TEST(closed_runner_refuses_with_stopping);
    CPPUNIT_TEST(manual_queue_records_and_runs);
    CPPUNIT_TEST(a_job_counts_completed_once_committed_and_the_drain_waits_for_that);
    CPPUNIT_TEST(a_failed_completion_commit_is_logged_and_recorded_later);
    CPPUNIT_TEST(completions_never_recorded_run_again_after_the_runner_ends);
    CPPUNIT_TEST_SUITE_END();

public:
    void accepted_jobs_run_and_are_deleted() {
        TempDir dir;
        auto runner = make_runner(dir);
        std::atomic<int> ran{0};
        runner->add_kind("k", [&](const DurableJob& job, const CancellationToken&) {
            if (job.payload == "p") ++ran;
        });
        runner->start();
        for (int i = 0; i < 20; ++i) CPPUNIT_ASSERT(runner->enqueue("k", "p", {}).accepted());
        CPPUNIT_ASSERT(eventually([&] { return ran.load() == 20 && runner->store().counts().left() == 0; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(20), runner->run_counts().completed);
    }

    void unknown_kind_and_oversized_payload_are_refused() {
        TempDir dir;
        auto runner = make_runner(dir);
        runner->add_kind("k", [](const DurableJob&, const CancellationToken&) {});
        runner->start();
        CPPUNIT_ASSERT(runner->enqueue("nope", "p", {}).status == EnqueueStatus::unknown_kind);
        CPPUNIT_ASSERT(runner->enqueue("k", std::string(kMaxDurablePayload + 1, 'x'), {}).status ==
                       EnqueueStatus::too_large);
        CPPUNIT_ASSERT(runner->enqueue("k", std::string(kMaxDurablePayload, 'x'), {}).accepted());
    }

    void failures_retry_with_growing_attempts_then_succeed() {
        TempDir dir;
        auto runner = make_runner(dir, 1);
        std::vector<unsigned> attempts;  // only the one worker writes; read after it is idle
        std::atomic<bool> done{false};
        runner->add_kind("k", [&](const DurableJob& job, const CancellationToken&) {
            attempts.push_back(job.attempt);
            if (job.attempt < 3) throw std::runtime_error("not yet");
            done = true;
        });
        runner->start();
        CPPUNIT_ASSERT(runner->enqueue("k", "", {}).accepted());
        CPPUNIT_ASSERT(eventually([&] { return done.load() && runner->store().counts().left() == 0; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT(attempts == (std::vector<unsigned>{1, 2, 3}));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), runner->run_counts().failed);
    }

    void past_max_attempts_the_job_is_dead() {
        TempDir dir;
        auto runner = make_runner(dir, 1);
        runner->add_kind("k", [](const DurableJob&, const CancellationToken&) { throw std::runtime_error("always"); });
        runner->start();
        EnqueueOptions two;
        two.max_attempts = 2;
        std::int64_t id = runner->enqueue("k", "", two).id;
        CPPUNIT_ASSERT(eventually([&] { return runner->store().counts().dead == 1; }, std::chrono::seconds(10)));
        StoredJob dead = *runner->store().show(id);
        CPPUNIT_ASSERT_EQUAL(std::string("always"), dead.last_error);
        CPPUNIT_ASSERT_EQUAL(3u, dead.job.attempt);  // two used: the next would be the third
    }

    void cancelled_job_goes_back_without_an_attempt() {
        TempDir dir;
        auto runner = make_runner(dir, 1);
        std::atomic<bool> started{false};
        runner->add_kind("k", [&](const DurableJob&, const CancellationToken& token) {
            started = true;
            token.wait(TokenLevel::cancelled);
        });
        runner->start();
        std::int64_t id = runner->enqueue("k", "", {}).id;
        CPPUNIT_ASSERT(eventually([&] { return started.load(); }, std::chrono::seconds(10)));
        runner->request_stop();
        runner->close();
        runner->cancel();
        CPPUNIT_ASSERT(runner->wait_idle_until(std::chrono::steady_clock::now() + std::chrono::seconds(10), 0) ==
                       WaitResult::idle);
        StoredJob back = *runner->store().show(id);
        CPPUNIT_ASSERT(back.state == StoredState::waiting);
        CPPUNIT_ASSERT_EQUAL(1u, back.job.attempt);
        CPPUNIT_ASSERT(runner->summary().find("durable_released=1 durable_left=1") != std::string::npos);
    }

    void closed_runner_refuses_with_stopping() {
        TempDir dir;
        auto runner = make_runner(dir);
        runner->add_kind("k", [](const DurableJob&, const CancellationToken&) {});
        runner->start();
        runner->close();
        CPPUNIT_ASSERT(runner->enqueue("k", "", {}).status == EnqueueStatus::stopping);
    }

    void manual_queue_records_and_runs() {
        testing::ManualDurableQueue q;
        std::vector<unsigned> attempts;
        q.add_kind("k", [&](const DurableJob& job, const CancellationToken&) {
            attempts.push_back(job.attempt);
            if (job.attempt == 1) throw std::runtime_error("first");
        });
        EnqueueOptions keyed;
        keyed.unique_key = "u";
        CPPUNIT_ASSERT(q.enqueue("k", "p", keyed).accepted());
        CPPUNIT_ASSERT(q.enqueue("k", "p", keyed).status == EnqueueStatus::duplicate);
        CPPUNIT_ASSERT(q.enqueue("x", "p").status == EnqueueStatus::unknown_kind);
        CPPUNIT_ASSERT(q.kinds() == std::vector<std::string>{"k"});
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), q.run_all());
        CPPUNIT_ASSERT(attempts == (std::vector<unsigned>{1, 2}));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), q.failures());
    }

    void a_job_counts_completed_once_committed_and_the_drain_waits_for_that() {
        TempDir dir;
        auto* gated = new GatedJobStore(std::make_unique<SqliteJobStore>(dir.file("jobs.db")));
        DurableRunner runner(std::unique_ptr<JobStore>(gated), fast_options(), 2, 1000);
        std::atomic<int> ran{0};
        runner.add_kind("k", [&](const DurableJob&, const CancellationToken&) { ++ran; });
        gated->hold_completes(true);
        GatedJobStore::Unhold unhold{*gated};
        runner.start();
        for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(runner.enqueue("k", "p", {}).accepted());
        CPPUNIT_ASSERT(eventually([&] { return ran.load() == 3 && gated->complete_calls() >= 1; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), runner.run_counts().completed);
        runner.request_stop();
        runner.close();
        // Every job ran, but not every end is committed: the drain is not over.
        CPPUNIT_ASSERT(runner.wait_idle_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(300), 0) ==
                       WaitResult::deadline);
        gated->hold_completes(false);
        CPPUNIT_ASSERT(runner.wait_idle_until(std::chrono::steady_clock::now() + std::chrono::seconds(10), 0) ==
                       WaitResult::idle);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), runner.run_counts().completed);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), gated->completed());
        CPPUNIT_ASSERT_MESSAGE(runner.summary(),
                               runner.summary().find("durable_completed=3 durable_failed=0 durable_dead=0 "
                                                     "durable_released=0 durable_left=0") != std::string::npos);
    }

    void a_failed_completion_commit_is_logged_and_recorded_later() {
        TempDir dir;
        LogFile log(dir);
        auto* gated = new GatedJobStore(std::make_unique<SqliteJobStore>(dir.file("jobs.db")));
        DurableRunner runner(std::unique_ptr<JobStore>(gated), fast_options(), 2, 1000);
        std::atomic<int> ran{0};
        runner.add_kind("k", [&](const DurableJob&, const CancellationToken&) { ++ran; });
        gated->fail_completes(true);
        runner.start();
        for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(runner.enqueue("k", "p", {}).accepted());
        CPPUNIT_ASSERT(eventually([&] { return ran.load() == 3 && gated->complete_calls() >= 1; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT(eventually([&] { return log.text().find("disk is full") != std::string::npos; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT_MESSAGE(log.text(), log.text().find("cannot record") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), runner.run_counts().completed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), runner.store().counts().running);
        gated->fail_completes(false);
        CPPUNIT_ASSERT(eventually([&] { return runner.run_counts().completed == 3; }, std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), runner.store().counts().left());
        CPPUNIT_ASSERT_EQUAL(3, ran.load());  // recorded late, not run twice
    }

    // At least once: what never reached the store runs again once its claim runs out.
    void completions_never_recorded_run_again_after_the_runner_ends() {
        TempDir dir;
        DurableOptions short_lease = fast_options();
        short_lease.lease = std::chrono::milliseconds(300);
        std::atomic<int> first_ran{0};
        {
            LogFile log(dir);
            auto* gated = new GatedJobStore(std::make_unique<SqliteJobStore>(dir.file("jobs.db")));
            DurableRunner runner(std::unique_ptr<JobStore>(gated), short_lease, 2, 1000);
            runner.add_kind("k", [&](const DurableJob&, const CancellationToken&) { ++first_ran; });
            gated->fail_completes(true);
            runner.start();
            for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(runner.enqueue("k", "p", {}).accepted());
            CPPUNIT_ASSERT(eventually([&] { return first_ran.load() == 3 && gated->complete_calls() >= 1; },
                                      std::chrono::seconds(10)));
        }  // the store still refuses while the runner stops
        CPPUNIT_ASSERT_EQUAL(3, first_ran.load());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), SqliteJobStore(dir.file("jobs.db")).counts().running);
        DurableRunner again(std::make_unique<SqliteJobStore>(dir.file("jobs.db")), short_lease, 2, 1000);
        std::atomic<int> second_ran{0};
        again.add_kind("k", [&](const DurableJob&, const CancellationToken&) { ++second_ran; });
        again.start();
        CPPUNIT_ASSERT(eventually([&] { return second_ran.load() == 3 && again.store().counts().left() == 0; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), again.run_counts().completed);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DurableRunnerTest, "unit");
