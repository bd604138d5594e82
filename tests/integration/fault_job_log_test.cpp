// A job whose write to disk fails, against a real fcgihost-demo: the demo's jobs append a
// line to --job-log; here that is /dev/full (every write fails with ENOSPC), or a file in a
// directory removed after the start. The job counts as failed, the log says why, the
// process serves on, and the drain still exits 0: a failed job is reported, not lost.
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kBound = std::chrono::seconds(10);

}  // namespace

class FaultJobLogTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FaultJobLogTest);
    CPPUNIT_TEST(a_full_disk_fails_the_job_and_says_so);
    CPPUNIT_TEST(a_removed_directory_fails_the_job_and_says_so);
    CPPUNIT_TEST_SUITE_END();

public:
    void a_full_disk_fails_the_job_and_says_so() {
        DemoProcess demo({"--job-log", "/dev/full"});
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=full").status);
        CPPUNIT_ASSERT(eventually([&] { return status_number(demo.get("/status").body, "failed") == 1; }, kBound));
        CPPUNIT_ASSERT(demo.log().find("job work:full failed: job log /dev/full: write: No space left on device") !=
                       std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
        CPPUNIT_ASSERT(demo.log().find("drain complete: jobs completed=0 failed=1") != std::string::npos);
    }

    void a_removed_directory_fails_the_job_and_says_so() {
        TempDir dir;
        const std::string gone = dir.file("gone");
        CPPUNIT_ASSERT_EQUAL(0, ::mkdir(gone.c_str(), 0700));
        DemoProcess demo({"--job-log", gone + "/jobs.log"});
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=before").status);
        CPPUNIT_ASSERT(wait_for_file_text(gone + "/jobs.log", "done before\n", kBound));
        CPPUNIT_ASSERT_EQUAL(0, ::unlink((gone + "/jobs.log").c_str()));
        CPPUNIT_ASSERT_EQUAL(0, ::rmdir(gone.c_str()));
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=after").status);
        CPPUNIT_ASSERT(eventually([&] { return status_number(demo.get("/status").body, "failed") == 1; }, kBound));
        CPPUNIT_ASSERT(demo.log().find("job work:after failed: job log " + gone + "/jobs.log: No such file or directory") !=
                       std::string::npos);
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
        CPPUNIT_ASSERT(demo.log().find("drain complete: jobs completed=1 failed=1") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(FaultJobLogTest, "integration");
