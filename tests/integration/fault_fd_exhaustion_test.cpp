// File descriptor exhaustion, against a real fcgihost-demo started under `ulimit -n 32`:
// more connections arrive than the process has fds for. It says so once in the log, does
// not spin while it waits for an fd (its CPU time stays low), and once connections close
// it accepts again and answers the client that waited in the backlog.
#include "integration/demo_process.hpp"
#include "support/log_text.hpp"
#include "support/proc_stats.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <poll.h>
#include <signal.h>

#include <iostream>
#include <memory>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kBound = std::chrono::seconds(10);
const std::string kPaused = "pausing accepts until a connection closes";

}  // namespace

class FaultFdExhaustionTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FaultFdExhaustionTest);
    CPPUNIT_TEST(out_of_fds_it_logs_once_waits_without_spinning_and_recovers);
    CPPUNIT_TEST_SUITE_END();

public:
    void out_of_fds_it_logs_once_waits_without_spinning_and_recovers() {
        TempDir dir;
        const std::string socket = dir.file("d.sock");
        // The shell lowers the limit and execs the demo, so the pid is the demo's.
        ChildProcess demo({"/bin/sh", "-c", "ulimit -n 32 && exec \"$0\" \"$@\"", demo_binary(), "--socket", socket,
                           "--job-log", dir.file("jobs.log"), "--threads", "2"},
                          dir.file("demo.log"));
        CPPUNIT_ASSERT(demo.wait_for_log("listening on", kBound));

        std::vector<std::unique_ptr<FcgiConnection>> idle;
        for (int i = 0; i < 40; ++i) idle.emplace_back(new FcgiConnection(FcgiConnection::connect_unix(socket)));
        CPPUNIT_ASSERT(demo.wait_for_log(kPaused, kBound));
        CPPUNIT_ASSERT(proc_open_fds(demo.pid()) >= 30);

        // A window in which nothing happens but the process waiting for an fd: a loop that
        // retried accept(2) without pause would burn a core here. 1.5 s = 150 ticks at 100 Hz.
        const long ticks_before = proc_cpu_ticks(demo.pid());
        ::poll(nullptr, 0, 1500);
        const long ticks = proc_cpu_ticks(demo.pid()) - ticks_before;
        std::cout << " [CPU while starved: " << ticks << " ticks in 1.5 s] " << std::flush;
        const long window_ticks = proc_ticks_per_second() * 3 / 2;
        CPPUNIT_ASSERT(ticks < window_ticks / 4);  // a spinning thread would take about all of them
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), occurrences(demo.log(), kPaused));

        // One more client waits in the backlog; it is answered once fds are free again.
        FcgiConnection late = FcgiConnection::connect_unix(socket);
        idle.clear();
        FcgiResponse r = late.request(cgi_params("GET", "/"));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), r.body);
        CPPUNIT_ASSERT(demo.wait_for_log("accept: accepting connections again", kBound));
        demo.signal(SIGTERM);
        CPPUNIT_ASSERT(demo.wait_exit(kBound));
        CPPUNIT_ASSERT_EQUAL(0, demo.exit_code());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(FaultFdExhaustionTest, "integration");
