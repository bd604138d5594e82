// Stop signals in a burst, against a real fcgihost-demo: three SIGTERMs back to back, as a
// supervisor and a process-group kill may send them (mod_fcgid sends two on every Apache
// reload). The first starts the drain; the others may merge with it (a pending signal is
// not queued twice) or be logged and ignored; none cuts the drain short. And SIGKILL,
// which no process can catch: jobs in memory are lost. demo_drain_test covers signals sent
// one at a time.
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>

using namespace fcgihost::testing_support;

class FaultSignalsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FaultSignalsTest);
    CPPUNIT_TEST(three_sigterms_in_a_burst_drain_once_and_lose_nothing);
    CPPUNIT_TEST(sigkill_loses_queued_and_running_jobs);
    CPPUNIT_TEST_SUITE_END();

public:
    void three_sigterms_in_a_burst_drain_once_and_lose_nothing() {
        DemoProcess demo({"--workers", "2"});
        for (int i = 0; i < 4; ++i) CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=800&id=b" + std::to_string(i)).status);
        demo.process().signal(SIGTERM);
        demo.process().signal(SIGTERM);
        demo.process().signal(SIGTERM);
        CPPUNIT_ASSERT(demo.process().wait_exit(std::chrono::seconds(20)));
        CPPUNIT_ASSERT_EQUAL(0, demo.process().exit_code());
        for (int i = 0; i < 4; ++i) {
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), count_exact_lines(demo.job_log(), "done b" + std::to_string(i)));
        }
        std::string log = demo.log();
        CPPUNIT_ASSERT_EQUAL(log.find("SIGTERM: draining"), log.rfind("SIGTERM: draining"));  // exactly once
        CPPUNIT_ASSERT(log.find("drain complete: jobs completed=4 failed=0 cancelled=0 abandoned=0") != std::string::npos);
    }

    void sigkill_loses_queued_and_running_jobs() {
        // What docs/contract.md#jobs says is not guaranteed: jobs live in memory, and SIGKILL ends the
        // process with no chance to drain them or to log a word.
        DemoProcess demo({"--workers", "1"});
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=60000&id=running").status);
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=queued").status);
        CPPUNIT_ASSERT(eventually([&] { return status_number(demo.get("/status").body, "running") == 1; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(128 + SIGKILL, demo.stop(SIGKILL));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), demo.done_lines());
        const std::string log = demo.log();
        CPPUNIT_ASSERT(log.find("draining") == std::string::npos);
        CPPUNIT_ASSERT(log.find("drain complete") == std::string::npos && log.find("drain incomplete") == std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(FaultSignalsTest, "integration");
