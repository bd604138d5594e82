// Reload with overlap (docs/contract.md#reload), driven with real signals against a real
// fcgihost-demo, under a continuous load of fresh and kept FastCGI connections.
#include "integration/demo_process.hpp"
#include "support/status_load.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kLimit = std::chrono::seconds(20);

// A blocking unix listening socket, as spawn-fcgi or systemd would hand over on fd 0.
int held_unix_socket(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    CPPUNIT_ASSERT_EQUAL(0, bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    CPPUNIT_ASSERT_EQUAL(0, listen(fd, 128));
    return fd;
}

}  // namespace

class DemoReloadTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoReloadTest);
    CPPUNIT_TEST(reload_on_a_created_socket_overlaps_a_running_job);
    CPPUNIT_TEST(reload_on_an_inherited_socket_overlaps_a_running_job);
    CPPUNIT_TEST(successor_that_exits_leaves_the_old_process_serving);
    CPPUNIT_TEST(successor_that_never_serves_is_killed_after_the_timeout);
    CPPUNIT_TEST(second_sigusr2_while_pending_is_ignored);
    CPPUNIT_TEST(sigterm_while_pending_stops_both);
    CPPUNIT_TEST(replaced_binary_is_the_one_that_starts);
    CPPUNIT_TEST_SUITE_END();

public:
    void reload_on_a_created_socket_overlaps_a_running_job() {
        TempDir tmp;
        DemoProcess demo({"--pid-file", tmp.file("pid")});
        check_overlap(demo.process(), demo.socket_path(), demo.job_log(), tmp.file("pid"));
        // The successor took the path over as its own: its final stop removes it.
        struct stat st;
        CPPUNIT_ASSERT(stat(demo.socket_path().c_str(), &st) != 0);
    }

    void reload_on_an_inherited_socket_overlaps_a_running_job() {
        TempDir tmp;
        const int held = held_unix_socket(tmp.file("s"));
        ChildProcess old({demo_binary(), "--job-log", tmp.file("jobs"), "--pid-file", tmp.file("pid")},
                         tmp.file("log"), {}, held);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("listening on fd 0 (inherited)", kLimit));
        check_overlap(old, tmp.file("s"), tmp.file("jobs"), tmp.file("pid"));
        struct stat st;
        CPPUNIT_ASSERT_MESSAGE("an inherited socket's path is never removed", stat(tmp.file("s").c_str(), &st) == 0);
        ::close(held);
    }

    void successor_that_exits_leaves_the_old_process_serving() {
        TempDir tmp;
        ChildProcess old({demo_binary(), "--socket", tmp.file("s")}, tmp.file("log"),
                         {"DEMO_SUCCESSOR_FAIL=exit"});
        CPPUNIT_ASSERT(old.wait_for_log("listening on", kLimit));
        StatusLoad load(fcgi_status_client(tmp.file("s")), 2, 2);
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("exited with status 1 before it served; this process serves on", kLimit));
        const long before = load.answers();
        CPPUNIT_ASSERT(eventually([&] { return load.answers() > before + 20; }, kLimit));
        load.stop();
        CPPUNIT_ASSERT_EQUAL(std::string(), load.failures());
        CPPUNIT_ASSERT(!old.exited());
        old.signal(SIGTERM);
        CPPUNIT_ASSERT(old.wait_exit(kLimit));
        CPPUNIT_ASSERT_EQUAL(0, old.exit_code());
    }

    void successor_that_never_serves_is_killed_after_the_timeout() {
        TempDir tmp;
        ChildProcess old({demo_binary(), "--socket", tmp.file("s"), "--reload-timeout", "500ms"}, tmp.file("log"),
                         {"DEMO_SUCCESSOR_FAIL=hang"});
        CPPUNIT_ASSERT(old.wait_for_log("listening on", kLimit));
        StatusLoad load(fcgi_status_client(tmp.file("s")), 2, 2);
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("was not serving within 500 ms", kLimit));
        const long pid = successor_pid(old.log());
        CPPUNIT_ASSERT(eventually([pid] { return process_gone(pid); }, kLimit));
        // The old process can reload again once the failed attempt is over.
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT(eventually([&] { return count_lines_with(tmp.file("log"), "was not serving within") == 2; },
                                  kLimit));
        load.stop();
        CPPUNIT_ASSERT_EQUAL(std::string(), load.failures());
        old.signal(SIGTERM);
        CPPUNIT_ASSERT(old.wait_exit(kLimit));
        CPPUNIT_ASSERT_EQUAL(0, old.exit_code());
    }

    void second_sigusr2_while_pending_is_ignored() {
        TempDir tmp;
        ChildProcess old({demo_binary(), "--socket", tmp.file("s"), "--reload-timeout", "3s"}, tmp.file("log"),
                         {"DEMO_SUCCESSOR_FAIL=hang"});
        CPPUNIT_ASSERT(old.wait_for_log("listening on", kLimit));
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT(old.wait_for_log("started successor pid", kLimit));
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT(old.wait_for_log("SIGUSR2: ignored (a reload is pending", kLimit));
        CPPUNIT_ASSERT(old.wait_for_log("was not serving within", kLimit));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), count_lines_with(tmp.file("log"), "started successor pid"));
        old.signal(SIGTERM);
        CPPUNIT_ASSERT(old.wait_exit(kLimit));
        CPPUNIT_ASSERT_EQUAL(0, old.exit_code());
    }

    void sigterm_while_pending_stops_both() {
        TempDir tmp;
        ChildProcess old({demo_binary(), "--socket", tmp.file("s"), "--reload-timeout", "60s"}, tmp.file("log"),
                         {"DEMO_SUCCESSOR_FAIL=hang"});
        CPPUNIT_ASSERT(old.wait_for_log("listening on", kLimit));
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT(old.wait_for_log("started successor pid", kLimit));
        const long pid = successor_pid(old.log());
        old.signal(SIGTERM);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_exit(kLimit));
        CPPUNIT_ASSERT_EQUAL(0, old.exit_code());
        CPPUNIT_ASSERT(old.log().find("reload cancelled by a stop signal") != std::string::npos);
        CPPUNIT_ASSERT(eventually([pid] { return process_gone(pid); }, kLimit));
    }

    void replaced_binary_is_the_one_that_starts() {
        TempDir tmp;
        // The "build" first started is a script that execs the demo under the script's own
        // name (exec -a: the demo must see the path it was started from); the new build,
        // renamed over it, execs the demo with a different --status-path.
        const std::string app = tmp.file("app");
        write_script(app, "exec -a \"$0\" " + demo_binary() + " \"$@\"");
        ChildProcess old({app, "--socket", tmp.file("s")}, tmp.file("log"));
        CPPUNIT_ASSERT(old.wait_for_log("listening on", kLimit));
        write_script(tmp.file("app.new"), "exec -a \"$0\" " + demo_binary() + " \"$@\" --status-path /new-status");
        CPPUNIT_ASSERT_EQUAL(0, rename(tmp.file("app.new").c_str(), app.c_str()));
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("serves; this process stops accepting", kLimit));
        const long pid = successor_pid(old.log());
        CPPUNIT_ASSERT(old.wait_exit(kLimit));
        CPPUNIT_ASSERT_EQUAL(0, old.exit_code());
        const FcgiResponse r = fcgi_get(tmp.file("s"), "/new-status");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(pid, static_cast<long>(status_number(r.body, "pid")));
        stop_successor(pid);
    }

private:
    static void write_script(const std::string& path, const std::string& body) {
        std::ofstream(path) << "#!/bin/bash\n" << body << "\n";
        chmod(path.c_str(), 0755);
    }

    // A 3 s job runs in the old process; SIGUSR2 under load; the successor answers while
    // the old one still drains; the job's done line is written; old exit 0; nothing fails.
    static void check_overlap(ChildProcess& old, const std::string& socket, const std::string& job_log,
                              const std::string& pid_file) {
        CPPUNIT_ASSERT_EQUAL(202, fcgi_get(socket, "/work?ms=3000&id=long").status);
        StatusLoad load(fcgi_status_client(socket), 2, 2);
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("serves; this process stops accepting", kLimit));
        const long pid = successor_pid(old.log());
        CPPUNIT_ASSERT(pid > 0);
        CPPUNIT_ASSERT(eventually([&] { return load.answered_by(pid); }, kLimit));
        CPPUNIT_ASSERT_MESSAGE("the new process answered only after the old one exited", !old.exited());
        CPPUNIT_ASSERT_EQUAL(std::to_string(pid) + "\n", read_file(pid_file));
        // The old process may still accept for a moment after it logged the hand-over (it
        // serves what it accepts), so ask until the successor answers.
        FcgiResponse status;
        CPPUNIT_ASSERT(eventually([&] {
            status = fcgi_get(socket, "/status");
            return status_number(status.body, "pid") == pid;
        }, kLimit));
        CPPUNIT_ASSERT_EQUAL(1LL, status_number(status.body, "reload_generation"));
        CPPUNIT_ASSERT_EQUAL(static_cast<long long>(old.pid()), status_number(status.body, "predecessor_pid"));
        CPPUNIT_ASSERT(old.wait_exit(kLimit));
        CPPUNIT_ASSERT_EQUAL(0, old.exit_code());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), count_exact_lines(job_log, "done long"));
        CPPUNIT_ASSERT(old.log().find("after=reload") != std::string::npos);
        const long long before = load.answers();
        CPPUNIT_ASSERT(eventually([&] { return load.answers() > before + 20; }, kLimit));
        load.stop();
        CPPUNIT_ASSERT_EQUAL(std::string(), load.failures());
        CPPUNIT_ASSERT_EQUAL(std::to_string(pid) + "\n", read_file(pid_file));
        stop_successor(pid);
        CPPUNIT_ASSERT_MESSAGE("the pid file is removed at the final stop", read_file(pid_file).empty());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoReloadTest, "integration");
