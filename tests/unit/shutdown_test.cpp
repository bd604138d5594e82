// ShutdownSequence without a request side: the steps, the exit status, the report, and
// what a repeated SIGINT, SIGTERM or SIGHUP does.
#include "process/shutdown.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>

#include <future>
#include <stdexcept>
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
    CPPUNIT_TEST(one_sigint_skips_exactly_one_step);
    CPPUNIT_TEST(each_further_sigint_ends_one_step);
    CPPUNIT_TEST(job_throwing_at_its_cancel_is_work_lost);
    CPPUNIT_TEST(job_giving_up_is_work_lost_before_any_deadline);
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
        std::promise<void> started;
        jobs.queue("long", [&](const CancellationToken& t) {
            started.set_value();
            t.wait(TokenLevel::cancelled);
        });
        // Running, not waiting: a job cancelled before it started is abandoned instead.
        started.get_future().get();
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
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), report.cancelled.size());
        CPPUNIT_ASSERT_EQUAL(std::string("long"), report.cancelled[0]);
    }

    // The SIGINT lands while the sequence moves from the drain to the cancel step. It must
    // end the drain wait and not the grace too: the job, which returns once released after
    // its cancel, is then counted cancelled, never abandoned. Repeated because a skip
    // counted twice depended on the order of two threads.
    void one_sigint_skips_exactly_one_step() {
        for (int round = 0; round < 100; ++round) {
            JobQueue jobs(one_worker());
            jobs.start();
            std::promise<void> release;
            std::shared_future<void> released = release.get_future().share();
            std::promise<void> started;
            jobs.queue("long", [released, &started](const CancellationToken& t) {
                started.set_value();
                t.wait(TokenLevel::cancelled);
                released.wait();
            });
            started.get_future().get();
            ShutdownSequence sequence(nullptr, jobs, drain(std::chrono::hours(1), std::chrono::hours(1)));
            std::promise<void> draining;
            std::promise<void> cancelling;
            sequence.on_state_change([&](HostState state) {
                if (state == HostState::draining) draining.set_value();
                if (state == HostState::cancelling) cancelling.set_value();
            });
            std::future<DrainReport> run = std::async(std::launch::async, [&] { return sequence.run(); });
            sequence.notify_signal(SIGINT);
            draining.get_future().get();
            sequence.notify_signal(SIGINT);
            cancelling.get_future().get();
            release.set_value();
            CPPUNIT_ASSERT(run.wait_for(kLimit) == std::future_status::ready);
            DrainReport report = run.get();
            CPPUNIT_ASSERT_EQUAL(std::size_t(0), report.abandoned.size());
            CPPUNIT_ASSERT_EQUAL(std::string("long"), report.cancelled.at(0));
            CPPUNIT_ASSERT_EQUAL(kExitWorkLost, report.exit_status);
        }
    }

    // A SIGINT once the deadline has passed ends the grace; two in a row during the drain
    // end both steps. The job ignores its cancel, so only the skips can end the waits.
    void each_further_sigint_ends_one_step() {
        for (int sigints_in_the_drain : {1, 2}) {
            std::promise<void> release;
            std::shared_future<void> released = release.get_future().share();
            JobQueue jobs(one_worker());
            jobs.start();
            std::promise<void> started;
            jobs.queue("stubborn", [released, &started](const CancellationToken&) {
                started.set_value();
                released.wait();
            });
            started.get_future().get();
            const auto timeout = sigints_in_the_drain == 1 ? std::chrono::milliseconds(0) : std::chrono::hours(1);
            ShutdownSequence sequence(nullptr, jobs, drain(timeout, std::chrono::hours(1)));
            std::promise<void> cancelling;
            sequence.on_state_change([&](HostState state) {
                if (state == HostState::cancelling) cancelling.set_value();
            });
            std::future<DrainReport> run = std::async(std::launch::async, [&] { return sequence.run(); });
            sequence.notify_signal(SIGINT);
            if (sigints_in_the_drain == 2) {
                CPPUNIT_ASSERT(reaches(sequence, HostState::draining));
                sequence.notify_signal(SIGINT);
                sequence.notify_signal(SIGINT);
            } else {
                cancelling.get_future().get();  // reached by the deadline, not by a skip
                sequence.notify_signal(SIGINT);
            }
            const bool ended = run.wait_for(kLimit) == std::future_status::ready;
            release.set_value();
            CPPUNIT_ASSERT(ended);
            DrainReport report = run.get();
            CPPUNIT_ASSERT_EQUAL(std::string("stubborn"), report.abandoned.at(0));
            CPPUNIT_ASSERT(!report.workers_finished);
        }
    }

    // Returning and throwing after the cancel mean the same: the work was lost.
    void job_throwing_at_its_cancel_is_work_lost() {
        JobQueue jobs(one_worker());
        jobs.start();
        std::promise<void> started;
        jobs.queue("throws-at-cancel", [&](const CancellationToken& t) {
            started.set_value();
            t.wait(TokenLevel::cancelled);
            throw std::runtime_error("half done");
        });
        started.get_future().get();
        ShutdownSequence sequence(nullptr, jobs, drain(std::chrono::milliseconds(0)));
        sequence.request_stop("test");
        DrainReport report = sequence.run();
        CPPUNIT_ASSERT_EQUAL(kExitWorkLost, report.exit_status);
        CPPUNIT_ASSERT(report.summary.find("failed=0 cancelled=1 abandoned=0") != std::string::npos);
        CPPUNIT_ASSERT(report.summary.find("cancelled_jobs=throws-at-cancel") != std::string::npos);
    }

    // A job that gives up at the start of the drain ends it well before the deadline, and
    // its work is lost all the same.
    void job_giving_up_is_work_lost_before_any_deadline() {
        JobQueue jobs(one_worker());
        jobs.start();
        jobs.queue("gives-up", [](const CancellationToken& t) {
            t.wait(TokenLevel::stopping);
            throw JobCancelled();
        });
        ShutdownSequence sequence(nullptr, jobs, drain(std::chrono::hours(1)));
        sequence.request_stop("test");
        DrainReport report = sequence.run();
        CPPUNIT_ASSERT_EQUAL(kExitWorkLost, report.exit_status);
        CPPUNIT_ASSERT(report.summary.find("failed=0 cancelled=1 abandoned=0") != std::string::npos);
        CPPUNIT_ASSERT(report.summary.find("cancelled_jobs=gives-up") != std::string::npos);
        CPPUNIT_ASSERT(report.took < std::chrono::minutes(1));
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

