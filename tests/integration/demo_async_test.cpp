// Asynchronous jobs (docs/contract.md#jobs) in a real fcgihost-demo: /wait holds no worker.
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>

#include <iostream>

using namespace fcgihost::testing_support;

namespace {

long long status_of(DemoProcess& demo, const std::string& field) { return status_number(demo.get("/status").body, field); }

void queue_waits(DemoProcess& demo, int n, long ms, const std::string& prefix) {
    for (int i = 0; i < n; ++i) {
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/wait?ms=" + std::to_string(ms) + "&id=" + prefix + std::to_string(i)).status);
    }
}

}  // namespace

class DemoAsyncTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoAsyncTest);
    CPPUNIT_TEST(two_thousand_one_second_waits_need_no_thousand_seconds);
    CPPUNIT_TEST(stop_drains_a_thousand_pending_waits);
    CPPUNIT_TEST(stop_past_the_deadline_cancels_pending_waits_at_once);
    CPPUNIT_TEST(waits_complete_while_every_worker_is_blocked);
    CPPUNIT_TEST_SUITE_END();

public:
    void two_thousand_one_second_waits_need_no_thousand_seconds() {
        DemoProcess demo({"--workers", "2"});
        auto start = std::chrono::steady_clock::now();
        queue_waits(demo, 2000, 1000, "w");
        // Two workers holding a thread per wait would need 1,000 s. The bound is not tight:
        // each done line is fsynced in turn on the one I/O thread, and where the temp dir is
        // on a disk 2,000 fsyncs alone take several seconds.
        CPPUNIT_ASSERT(eventually([&] { return status_of(demo, "completed") == 2000; }, std::chrono::seconds(30)));
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        std::cout << " [2000 x 1 s waits, 2 workers: " << took.count() << " ms] " << std::flush;
        CPPUNIT_ASSERT_EQUAL(std::size_t(2000), demo.done_lines());
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
    }

    void stop_drains_a_thousand_pending_waits() {
        DemoProcess demo({"--workers", "2", "--drain-timeout", "30s"});
        queue_waits(demo, 1000, 1500, "d");
        CPPUNIT_ASSERT(status_of(demo, "running") > 0);
        // Up to the drain deadline is the process's to take: 1,000 fsynced done lines on a
        // disk take seconds.
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM, std::chrono::seconds(40)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1000), demo.done_lines());
        CPPUNIT_ASSERT(demo.log().find("drain complete: jobs completed=1000 failed=0 cancelled=0 abandoned=0") !=
                       std::string::npos);
    }

    void stop_past_the_deadline_cancels_pending_waits_at_once() {
        DemoProcess demo({"--drain-timeout", "300ms", "--cancel-grace", "60s"});
        queue_waits(demo, 100, 60000, "long");
        CPPUNIT_ASSERT(eventually([&] { return status_of(demo, "async_running") == 100; }, std::chrono::seconds(10)));
        auto sent = std::chrono::steady_clock::now();
        // Exiting well within the 60 s grace means the cancel reached the timers at once
        // (it takes well under a second; a sanitizer build may take several).
        CPPUNIT_ASSERT_EQUAL(3, demo.stop(SIGTERM, std::chrono::seconds(20)));
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent);
        std::cout << " [100 pending 60 s waits, SIGTERM to exit: " << took.count() << " ms] " << std::flush;
        CPPUNIT_ASSERT(took < std::chrono::seconds(20));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), demo.done_lines());
        std::string log = demo.log();
        CPPUNIT_ASSERT(log.find("drain incomplete: jobs completed=0 failed=0 cancelled=100 abandoned=0") !=
                       std::string::npos);
        CPPUNIT_ASSERT(log.find("wait:long0") != std::string::npos);
        CPPUNIT_ASSERT(log.find("wait:long99") != std::string::npos);
    }

    void waits_complete_while_every_worker_is_blocked() {
        DemoProcess demo({"--workers", "1", "--drain-timeout", "200ms", "--cancel-grace", "5s"});
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=60000&id=blocker").status);
        CPPUNIT_ASSERT(eventually([&] { return status_of(demo, "running") == 1; }, std::chrono::seconds(10)));
        queue_waits(demo, 20, 50, "beside");
        CPPUNIT_ASSERT(eventually([&] { return demo.done_lines() == 20; }, std::chrono::seconds(10)));
        // A wait writes (and fsyncs) its done line before its context says done: the count
        // follows the line, so it is awaited, not read at once.
        CPPUNIT_ASSERT(eventually([&] { return status_of(demo, "completed") == 20; }, std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(1LL, status_of(demo, "running"));
        // And the blocking job still ends as a blocking job does (cancelled at the deadline).
        CPPUNIT_ASSERT_EQUAL(3, demo.stop(SIGTERM));
        CPPUNIT_ASSERT(demo.log().find("cancelled_jobs=work:blocker") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoAsyncTest, "integration");
