// ShutdownSequence with a real Server in-process: what the drain says about requests
// still in a handler when it ends.
#include "process/shutdown.hpp"

#include "support/fcgi_client.hpp"
#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <fcgiapp.h>
#include <signal.h>

#include <future>

using namespace fcgihost;
using namespace fcgihost::testing_support;

namespace {

JobQueueOptions one_worker() {
    JobQueueOptions o;
    o.workers = 1;
    o.worker_nice = 0;
    return o;
}

DrainOptions drain(std::chrono::milliseconds timeout, std::chrono::milliseconds grace) {
    return DrainOptions{timeout, grace};
}

}  // namespace

class ShutdownRequestsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ShutdownRequestsTest);
    CPPUNIT_TEST(requests_in_flight_at_the_deadline_are_lost_work);
    CPPUNIT_TEST(skipped_drain_still_waits_for_request_threads_that_are_ending);
    CPPUNIT_TEST_SUITE_END();

public:
    // A request still in its handler when the drain ends is lost work, as a job would be.
    void requests_in_flight_at_the_deadline_are_lost_work() {
        CPPUNIT_ASSERT_EQUAL(0, FCGX_Init());
        TempDir dir;
        const std::string path = dir.file("s.sock");
        Listener listener = Listener::create_unix(path, 0600, "", 64);
        std::promise<void> entered;
        std::promise<void> release;
        std::shared_future<void> released = release.get_future().share();
        Server server(listener, [&](const Request&) {
            entered.set_value();
            released.wait();
            return Response::text(200, "late\n");
        }, ServerOptions{1, 1024, std::chrono::seconds(10)});
        server.start();
        std::future<int> client = std::async(std::launch::async, [&] { return fcgi_get(path, "/").status; });
        entered.get_future().get();
        JobQueue jobs(one_worker());
        jobs.start();
        ShutdownSequence sequence(&server, jobs, drain(std::chrono::milliseconds(100), std::chrono::milliseconds(100)));
        sequence.request_stop("test");
        DrainReport report = sequence.run();
        release.set_value();
        CPPUNIT_ASSERT_EQUAL(200, client.get());
        CPPUNIT_ASSERT(!report.requests_finished);
        CPPUNIT_ASSERT_EQUAL(kExitWorkLost, report.exit_status);
        CPPUNIT_ASSERT(report.summary.find("drain incomplete:") == 0);
        CPPUNIT_ASSERT(report.summary.find(" requests_unfinished=1 ") != std::string::npos);
    }

    // Ctrl-C twice before the drain starts: the request wait is skipped at once, while the
    // idle request threads are still on their way out. They get the grace like jobs do, so
    // the drain ends with every one of them joined (a process that exits otherwise leaves
    // threads unjoined) and nothing counted lost.
    void skipped_drain_still_waits_for_request_threads_that_are_ending() {
        CPPUNIT_ASSERT_EQUAL(0, FCGX_Init());
        TempDir dir;
        Listener listener = Listener::create_unix(dir.file("s.sock"), 0600, "", 64);
        Server server(listener, [](const Request&) { return Response::text(200, "ok\n"); },
                      ServerOptions{4, 1024, std::chrono::seconds(10)});
        server.start();
        JobQueue jobs(one_worker());
        jobs.start();
        ShutdownSequence sequence(&server, jobs, drain(std::chrono::hours(1), std::chrono::seconds(30)));
        sequence.notify_signal(SIGINT);
        sequence.notify_signal(SIGINT);
        DrainReport report = sequence.run();
        CPPUNIT_ASSERT(report.requests_finished);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), report.requests_unfinished);
        CPPUNIT_ASSERT_EQUAL(kExitDrained, report.exit_status);
        CPPUNIT_ASSERT(report.took < std::chrono::seconds(30));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ShutdownRequestsTest, "unit");
