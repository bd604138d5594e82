// A reload whose --pid-file cannot be written (its directory removed while the process
// runs): the successor refuses to take over, so that the file never names a process that
// has gone; the old process serves on, its socket path in place, under load; once the
// directory is back, the next SIGUSR2 reloads.
#include "integration/demo_process.hpp"
#include "support/status_load.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kLimit = std::chrono::seconds(20);

}  // namespace

class FaultReloadTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FaultReloadTest);
    CPPUNIT_TEST(pid_file_that_cannot_be_written_refuses_the_reload);
    CPPUNIT_TEST_SUITE_END();

public:
    void pid_file_that_cannot_be_written_refuses_the_reload() {
        TempDir tmp;
        const std::string run_dir = tmp.file("run");
        const std::string pid_file = run_dir + "/demo.pid";
        CPPUNIT_ASSERT_EQUAL(0, mkdir(run_dir.c_str(), 0755));
        ChildProcess old({demo_binary(), "--socket", tmp.file("s"), "--pid-file", pid_file}, tmp.file("log"));
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("listening on", kLimit));
        CPPUNIT_ASSERT(eventually([&] { return read_file(pid_file) == std::to_string(old.pid()) + "\n"; }, kLimit));
        // Removed mid-run (a tmpfiles cleanup, an operator): no write can succeed there, root's or not.
        CPPUNIT_ASSERT_EQUAL(0, unlink(pid_file.c_str()));
        CPPUNIT_ASSERT_EQUAL(0, rmdir(run_dir.c_str()));

        StatusLoad load(fcgi_status_client(tmp.file("s")), 2, 2);
        CPPUNIT_ASSERT(eventually([&] { return load.answers() > 20; }, kLimit));
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("exited with status 1 before it served; this process serves on",
                                                           kLimit));
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.log().find("reload refused: --pid-file " + pid_file +
                                                         " cannot be written; pid " + std::to_string(old.pid()) +
                                                         " serves on") != std::string::npos);
        struct stat st;
        CPPUNIT_ASSERT_MESSAGE("the refused successor removed the socket path", stat(tmp.file("s").c_str(), &st) == 0);
        const long long before = load.answers();
        CPPUNIT_ASSERT(eventually([&] { return load.answers() > before + 50; }, kLimit));
        CPPUNIT_ASSERT(!old.exited());
        const long refused = successor_pid(old.log());
        CPPUNIT_ASSERT(load.answered_by(old.pid()));
        CPPUNIT_ASSERT_MESSAGE("the refused successor answered requests", !load.answered_by(refused));

        // The directory is back: the next reload goes through and the file names the successor.
        CPPUNIT_ASSERT_EQUAL(0, mkdir(run_dir.c_str(), 0755));
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("serves; this process stops accepting", kLimit));
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_exit(kLimit));
        CPPUNIT_ASSERT_EQUAL(0, old.exit_code());
        const long pid = static_cast<long>(number_after(old.log().substr(old.log().find("reload refused")),
                                                        "started successor pid "));
        CPPUNIT_ASSERT(pid > 0 && pid != refused);
        CPPUNIT_ASSERT_EQUAL(std::to_string(pid) + "\n", read_file(pid_file));
        CPPUNIT_ASSERT(eventually([&] { return load.answered_by(pid); }, kLimit));
        load.stop();
        CPPUNIT_ASSERT_EQUAL(std::string(), load.failures());
        CPPUNIT_ASSERT(stop_successor(pid));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(FaultReloadTest, "integration");
