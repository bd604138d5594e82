// A job whose write to disk fails, against a real fcgihost-demo: the demo's jobs append a
// line to --job-log; here that is /dev/full (every write fails with ENOSPC), or a file in a
// directory removed after the start, or a symlink planted at its path, or a file that hits
// the process's file size limit part-way through a line. The job counts as failed, the log
// says why, the process serves on, and the drain still exits 0: a failed job is reported,
// not lost. A line written only in part is taken back, so the next one starts on its own.
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kBound = std::chrono::seconds(10);

// Sets the soft limit only, to `bytes` or (0) back up to the hard limit: needs no privilege.
void set_file_size_limit(pid_t pid, rlim_t bytes) {
    rlimit limit{};
    CPPUNIT_ASSERT_EQUAL(0, prlimit(pid, RLIMIT_FSIZE, nullptr, &limit));
    limit.rlim_cur = bytes == 0 ? limit.rlim_max : bytes;
    CPPUNIT_ASSERT_EQUAL(0, prlimit(pid, RLIMIT_FSIZE, &limit, nullptr));
}

off_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

}  // namespace

class FaultJobLogTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FaultJobLogTest);
    CPPUNIT_TEST(a_full_disk_fails_the_job_and_says_so);
    CPPUNIT_TEST(a_removed_directory_fails_the_job_and_says_so);
    CPPUNIT_TEST(a_symlink_at_the_job_log_path_is_refused);
    CPPUNIT_TEST(a_line_cut_short_by_the_size_limit_is_taken_back);
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

    void a_symlink_at_the_job_log_path_is_refused() {
        TempDir elsewhere;
        const std::string target = elsewhere.file("not-the-job-log");
        DemoProcess demo;
        CPPUNIT_ASSERT_EQUAL(0, ::symlink(target.c_str(), demo.job_log().c_str()));
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=linked").status);
        CPPUNIT_ASSERT(eventually([&] { return status_number(demo.get("/status").body, "failed") == 1; }, kBound));
        // The failure is counted before its line is logged: wait for the line.
        CPPUNIT_ASSERT(demo.process().wait_for_log("job work:linked failed: job log " + demo.job_log() +
                                                   ": Too many levels of symbolic links", kBound));
        CPPUNIT_ASSERT_EQUAL(-1, ::access(target.c_str(), F_OK));  // not created through the link
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
        CPPUNIT_ASSERT(demo.log().find("drain complete: jobs completed=0 failed=1") != std::string::npos);
    }

    void a_line_cut_short_by_the_size_limit_is_taken_back() {
        // A full disk, simulated per process: writes past RLIMIT_FSIZE stop short, then fail
        // with EFBIG (and SIGXFSZ, which must not kill the process).
        constexpr off_t kLimit = 16384;
        DemoProcess demo;
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=first").status);
        CPPUNIT_ASSERT(wait_for_file_text(demo.job_log(), "done first\n", kBound));
        {
            // Room for 3 bytes of the next line, "done cut\n".
            std::ofstream pad(demo.job_log(), std::ios::app | std::ios::binary);
            pad << std::string(static_cast<std::size_t>(kLimit - 3 - file_size(demo.job_log()) - 1), 'x') << '\n';
        }
        const std::string before = read_file(demo.job_log());
        CPPUNIT_ASSERT_EQUAL(kLimit - 3, static_cast<off_t>(before.size()));
        set_file_size_limit(demo.process().pid(), static_cast<rlim_t>(kLimit));

        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=cut").status);
        CPPUNIT_ASSERT(eventually([&] { return status_number(demo.get("/status").body, "failed") == 1; }, kBound));
        CPPUNIT_ASSERT(demo.log().find("job work:cut failed: job log " + demo.job_log() + ": write: File too large") !=
                       std::string::npos);
        CPPUNIT_ASSERT(before == read_file(demo.job_log()));

        set_file_size_limit(demo.process().pid(), 0);
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=after").status);
        CPPUNIT_ASSERT(wait_for_file_text(demo.job_log(), "done after\n", kBound));
        CPPUNIT_ASSERT(before + "done after\n" == read_file(demo.job_log()));
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
        CPPUNIT_ASSERT(demo.log().find("drain complete: jobs completed=2 failed=1") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(FaultJobLogTest, "integration");
