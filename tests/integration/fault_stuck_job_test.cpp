// A job that ignores cancellation, against a real fcgihost-demo: its --job-log is a FIFO
// nobody reads, so a /work job blocks in open(2) for good, as a job stuck on a hung disk or
// network share would. The rest of the process goes on (requests are served, other jobs
// run on other workers), and at the stop the stuck jobs are abandoned after the cancel
// grace, named in the log, and the exit status says work was lost. (demo_drain_test covers
// jobs that are cancelled in time and jobs that never started.)
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>
#include <sys/stat.h>

#include <string>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kBound = std::chrono::seconds(20);  // far above drain + grace: reached only when stuck

}  // namespace

class FaultStuckJobTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FaultStuckJobTest);
    CPPUNIT_TEST(stuck_jobs_stall_nothing_else_and_are_abandoned_by_name);
    CPPUNIT_TEST_SUITE_END();

public:
    void stuck_jobs_stall_nothing_else_and_are_abandoned_by_name() {
        TempDir dir;
        const std::string fifo = dir.file("jobs.fifo");
        CPPUNIT_ASSERT_EQUAL(0, ::mkfifo(fifo.c_str(), 0600));
        // The demo's own --job-log comes first on its command line; the later one wins.
        DemoProcess demo({"--workers", "2", "--job-log", fifo, "--drain-timeout", "300ms", "--cancel-grace", "300ms"});
        auto status = [&] { return demo.get("/status").body; };

        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=stuck1").status);
        CPPUNIT_ASSERT(eventually([&] { return status_number(status(), "running") == 1; }, kBound));
        // The other worker still runs jobs, and requests are still served.
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/fail?id=meanwhile").status);
        CPPUNIT_ASSERT(eventually([&] { return status_number(status(), "failed") == 1; }, kBound));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=stuck2").status);
        CPPUNIT_ASSERT(eventually([&] { return status_number(status(), "running") == 2; }, kBound));
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=waiting").status);  // no worker left for it
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);

        CPPUNIT_ASSERT_EQUAL(3, demo.stop(SIGTERM, kBound));
        std::string log = demo.log();
        CPPUNIT_ASSERT(log.find("job work:stuck1 abandoned: still running after the cancel grace") != std::string::npos);
        CPPUNIT_ASSERT(log.find("job work:stuck2 abandoned: still running after the cancel grace") != std::string::npos);
        CPPUNIT_ASSERT(log.find("job work:waiting abandoned: never started") != std::string::npos);
        CPPUNIT_ASSERT(log.find("drain incomplete: jobs completed=0 failed=1 cancelled=0 abandoned=3") !=
                       std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(FaultStuckJobTest, "integration");
