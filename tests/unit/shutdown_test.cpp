// ShutdownSequence without a request side: the steps, the exit status, the report, and
// what a repeated SIGINT, SIGTERM or SIGHUP does.
#include "fcgihost/shutdown.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>

#include <future>
#include <thread>

using namespace fcgihost;

namespace CppUnit {
template <> struct assertion_traits<fcgihost::HostState> {
    static bool equal(fcgihost::HostState a, fcgihost::HostState b) { return a == b; }
    static std::string toString(fcgihost::HostState s) { return fcgihost::to_string(s); }
};
}  // namespace CppUnit

namespace {

constexpr auto kLimit = std::chrono::seconds(30);  // bounds a hang; never reached when correct

JobQueueOptions one_worker() {
    JobQueueOptions o;
    o.workers = 1;
    o.worker_nice = 0;
    return o;
}

DrainOptions drain(std::chrono::milliseconds timeout, std::chrono::milliseconds grace = std::chrono::seconds(30)) {
    return DrainOptions{timeout, grace};
}

// Polls until the sequence reports `state`: the sequence offers no wait for it, and
// the tests only need to know the signal was taken before they send the next one.
bool reaches(const ShutdownSequence& sequence, HostState state) {
    auto deadline = std::chrono::steady_clock::now() + kLimit;
    while (sequence.state() != state) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

}  // namespace

class ShutdownTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ShutdownTest);
    CPPUNIT_TEST(drained_queue_exits_zero_with_a_summary);
    CPPUNIT_TEST(deadline_cancels_and_reports_work_lost);
    CPPUNIT_TEST(second_sigint_skips_to_cancel);
    CPPUNIT_TEST(repeated_sigterm_and_sighup_change_nothing);
    CPPUNIT_TEST(state_and_deadline_are_visible_while_draining);
    CPPUNIT_TEST_SUITE_END();

public:
    void drained_queue_exits_zero_with_a_summary() {
        JobQueue jobs(one_worker());
        jobs.start();
        std::promise<bool> saw_stopping;
        ShutdownSequence sequence(nullptr, jobs, drain(kLimit));
        CPPUNIT_ASSERT(jobs.queue("j", [&](const CancellationToken& t) {
            t.wait(TokenLevel::stopping);
            saw_stopping.set_value(t.stopping() && !t.cancelled());
        }) == QueueResult::accepted);
        sequence.notify_signal(SIGTERM);
        DrainReport report = sequence.run();
        CPPUNIT_ASSERT(saw_stopping.get_future().get());
        CPPUNIT_ASSERT_EQUAL(kExitDrained, report.exit_status);
        CPPUNIT_ASSERT(report.summary.find("drain complete: jobs completed=1 failed=0 cancelled=0 abandoned=0") == 0);
        CPPUNIT_ASSERT(report.workers_finished && report.requests_finished);
        CPPUNIT_ASSERT(jobs.queue("late", [](const CancellationToken&) {}) == QueueResult::stopping);
    }

    void deadline_cancels_and_reports_work_lost() {
        JobQueue jobs(one_worker());
        jobs.start();
        std::promise<void> started;
        jobs.queue("waits-for-cancel", [&](const CancellationToken& t) {
            started.set_value();
            t.wait(TokenLevel::cancelled);
        });
        jobs.queue("never-started", [](const CancellationToken&) {});
        started.get_future().get();
        ShutdownSequence sequence(nullptr, jobs, drain(std::chrono::milliseconds(0)));
        sequence.request_stop("test");
        DrainReport report = sequence.run();
        CPPUNIT_ASSERT_EQUAL(kExitWorkLost, report.exit_status);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), report.cancelled.size());
        CPPUNIT_ASSERT_EQUAL(std::string("waits-for-cancel"), report.cancelled[0]);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), report.abandoned.size());
        CPPUNIT_ASSERT_EQUAL(std::string("never-started"), report.abandoned[0]);
        CPPUNIT_ASSERT(report.workers_finished);
        CPPUNIT_ASSERT(report.summary.find("cancelled=1 abandoned=1") != std::string::npos);
        CPPUNIT_ASSERT(report.summary.find("abandoned_jobs=never-started") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(HostState::stopped, sequence.state());
    }

    void second_sigint_skips_to_cancel() {
        JobQueue jobs(one_worker());
        jobs.start();
        jobs.queue("long", [](const CancellationToken& t) { t.wait(TokenLevel::cancelled); });
        ShutdownSequence sequence(nullptr, jobs, drain(std::chrono::hours(1)));
        std::future<DrainReport> run = std::async(std::launch::async, [&] { return sequence.run(); });
        sequence.notify_signal(SIGINT);
        CPPUNIT_ASSERT(reaches(sequence, HostState::draining));
        CPPUNIT_ASSERT(run.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
        sequence.notify_signal(SIGINT);
        // Without the skip this would wait an hour.
        CPPUNIT_ASSERT(run.wait_for(kLimit) == std::future_status::ready);
        DrainReport report = run.get();
        CPPUNIT_ASSERT_EQUAL(kExitWorkLost, report.exit_status);
        CPPUNIT_ASSERT_EQUAL(std::string("long"), report.cancelled.at(0));
    }

    void repeated_sigterm_and_sighup_change_nothing() {
        JobQueue jobs(one_worker());
        jobs.start();
        std::promise<void> release;
        std::shared_future<void> released = release.get_future().share();
        jobs.queue("gated", [released](const CancellationToken&) { released.wait(); });
        ShutdownSequence sequence(nullptr, jobs, drain(std::chrono::hours(1)));
        std::future<DrainReport> run = std::async(std::launch::async, [&] { return sequence.run(); });
        sequence.notify_signal(SIGTERM);
        CPPUNIT_ASSERT(reaches(sequence, HostState::draining));
        sequence.notify_signal(SIGTERM);
        sequence.notify_signal(SIGHUP);
        sequence.notify_signal(SIGQUIT);
        CPPUNIT_ASSERT_EQUAL(HostState::draining, sequence.state());
        release.set_value();
        DrainReport report = run.get();
        CPPUNIT_ASSERT_EQUAL(kExitDrained, report.exit_status);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), jobs.counts().completed);
    }

    void state_and_deadline_are_visible_while_draining() {
        JobQueue jobs(one_worker());
        jobs.start();
        std::promise<void> release;
        std::shared_future<void> released = release.get_future().share();
        jobs.queue("gated", [released](const CancellationToken&) { released.wait(); });
        ShutdownSequence sequence(nullptr, jobs, drain(std::chrono::hours(1)));
        CPPUNIT_ASSERT_EQUAL(HostState::running, sequence.state());
        CPPUNIT_ASSERT_EQUAL(0L, static_cast<long>(sequence.deadline_left().count()));
        std::future<DrainReport> run = std::async(std::launch::async, [&] { return sequence.run(); });
        sequence.request_stop("test");
        CPPUNIT_ASSERT(reaches(sequence, HostState::draining));
        CPPUNIT_ASSERT(sequence.deadline_left() > std::chrono::minutes(50));
        release.set_value();
        run.get();
        CPPUNIT_ASSERT_EQUAL(HostState::stopped, sequence.state());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ShutdownTest, "unit");

