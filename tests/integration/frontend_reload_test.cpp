// Reload with overlap (docs/contract.md#reload) behind a real nginx (the shipped
// nginx/fcgihost.conf, fastcgi_keep_conn on as shipped and off) and a real Apache
// (apache/fcgihost-proxy-fcgi.conf), each under a continuous HTTP load of fresh and kept
// client connections, while the old process runs a 4 s job. Every request must get a 2xx
// answer; the new process must answer before the old one exits; the old job finishes and
// the old process exits 0. Each test prints what it measured; none asserts a duration.
#include "integration/demo_process.hpp"
#include "support/apache_process.hpp"
#include "support/nginx_process.hpp"
#include "support/status_load.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kLimit = std::chrono::seconds(20);
constexpr unsigned kFreshClients = 3;
constexpr unsigned kKeptClients = 3;

// Errors the front end logged (nginx "[error]", Apache "[proxy_fcgi:error]" and the like):
// behind nginx, each is an attempt on a kept upstream connection that the old process had
// just closed, which nginx retried on a new connection (fastcgi_next_upstream).
std::size_t upstream_error_lines(const std::string& error_log) {
    std::size_t count = 0;
    std::istringstream lines(error_log);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("error]") != std::string::npos) ++count;
    }
    return count;
}

// A listening unix socket the test holds, handed to the demo on fd 0 as systemd's
// fcgihost.socket would hand it over; closed on destruction.
class HeldSocket {
public:
    HeldSocket(const HeldSocket&) = delete;
    HeldSocket& operator=(const HeldSocket&) = delete;
    explicit HeldSocket(const std::string& path) : fd_(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        CPPUNIT_ASSERT_EQUAL(0, bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
        CPPUNIT_ASSERT_EQUAL(0, listen(fd_, 1024));
    }
    ~HeldSocket() { ::close(fd_); }
    int fd() const { return fd_; }

private:
    int fd_;
};

// What the front end is, for check_reload: how to reach it, and its log for failure messages.
struct FrontEnd {
    std::string name;
    std::string host;
    int port = 0;
    std::function<std::string()> error_log;
};

}  // namespace

class FrontendReloadTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FrontendReloadTest);
    CPPUNIT_TEST(nginx_keep_conn_on_reload_on_a_held_socket);
    CPPUNIT_TEST(nginx_keep_conn_off_reload_on_a_created_socket);
    CPPUNIT_TEST(apache_proxy_fcgi_reload_on_a_created_socket);
    CPPUNIT_TEST_SUITE_END();

public:
    // The systemd setup: fcgihost.socket holds the socket, nginx keeps its upstream
    // connections (the shipped config).
    void nginx_keep_conn_on_reload_on_a_held_socket() {
        TempDir tmp;
        HeldSocket held(tmp.file("s"));
        ChildProcess old({demo_binary(), "--job-log", tmp.file("jobs")}, tmp.file("log"), {}, held.fd());
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("listening on fd 0 (inherited)", kLimit));
        NginxProcess nginx(tmp.file("s"));
        check_reload(old, FrontEnd{"nginx, fastcgi_keep_conn on", nginx.host(), nginx.port(),
                                   [&nginx] { return nginx.error_log(); }},
                     tmp.file("jobs"));
        CPPUNIT_ASSERT_EQUAL(0, nginx.stop());
    }

    void nginx_keep_conn_off_reload_on_a_created_socket() {
        TempDir tmp;
        ChildProcess old({demo_binary(), "--socket", tmp.file("s"), "--job-log", tmp.file("jobs")}, tmp.file("log"));
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("listening on", kLimit));
        NginxProcess nginx(tmp.file("s"), {{"fastcgi_keep_conn on;", "fastcgi_keep_conn off;"}});
        check_reload(old, FrontEnd{"nginx, fastcgi_keep_conn off", nginx.host(), nginx.port(),
                                   [&nginx] { return nginx.error_log(); }},
                     tmp.file("jobs"));
        CPPUNIT_ASSERT_EQUAL(0, nginx.stop());
    }

    // Apache's workers (www-data when the tests run as root) reach the socket through its
    // group, as docs/deploy-apache.md sets it up.
    void apache_proxy_fcgi_reload_on_a_created_socket() {
        TempDir tmp;
        share_with_apache(tmp.path());
        std::vector<std::string> argv = {demo_binary(), "--socket", tmp.file("s"), "--job-log", tmp.file("jobs")};
        if (!apache_user().empty()) {
            argv.insert(argv.end(), {"--socket-owner", ":" + apache_user(), "--socket-mode", "0660"});
        }
        ChildProcess old(argv, tmp.file("log"));
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("listening on", kLimit));
        ApacheProcess apache(ApacheModule::proxy_fcgi,
                             render_apache_sample("fcgihost-proxy-fcgi.conf", {{"@SOCKET@", tmp.file("s")}}));
        check_reload(old, FrontEnd{"Apache mod_proxy_fcgi", apache.host(), apache.port(),
                                   [&apache] { return apache.error_log(); }},
                     tmp.file("jobs"));
        CPPUNIT_ASSERT_EQUAL(0, apache.stop());
    }

private:
    // Fresh and kept HTTP clients ask /status without a pause through the front end; a 4 s
    // job in the old process; SIGUSR2; the new pid answers while the old one drains; the old
    // one writes its done line and exits 0; nothing failed, before, during or after.
    static void check_reload(ChildProcess& old, const FrontEnd& front, const std::string& job_log) {
        StatusLoad load(http_status_client(front.host, front.port), kFreshClients, kKeptClients);
        // Warm: the front end holds kept connections to the old process before the signal.
        CPPUNIT_ASSERT_MESSAGE(load.failures(), eventually([&] { return load.answers() > 200; }, kLimit));
        // Queued after the warm-up, whose length varies, so that the job's 4 s are all left
        // for the successor to start and answer while the old process still drains.
        const HttpResponse queued = http_get(front.host, front.port, "/work?ms=4000&id=long");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(front.error_log(), 202, queued.status);
        const long long before_signal = load.answers();
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("serves; this process stops accepting", kLimit));
        const long pid = successor_pid(old.log());
        CPPUNIT_ASSERT_MESSAGE(old.log(), pid > 0);
        const bool new_pid_answered = eventually([&] { return load.answered_by(pid); }, kLimit);
        const bool old_still_draining = !old.exited();
        const bool old_exited = old.wait_exit(kLimit);
        const long long at_old_exit = load.answers();
        // Some more after the old process has gone: its kept connections are all closed now.
        const bool served_after = eventually([&] { return load.answers() > at_old_exit + 200; }, kLimit);
        load.stop();
        const std::string failures = load.failures();
        const std::string error_log = front.error_log();
        std::cout << "\n  reload behind " << front.name << ": " << load.answers() << " requests over "
                  << kFreshClients << " fresh and " << kKeptClients << " kept client connections ("
                  << before_signal << " before SIGUSR2), longest " << load.longest_ms() << " ms; "
                  << (failures.empty() ? "all 2xx" : "FAILURES") << "; front-end error-log lines about the upstream: "
                  << upstream_error_lines(error_log) << std::endl;

        CPPUNIT_ASSERT_MESSAGE("requests failed during the reload behind " + front.name + ": " +
                                   failures.substr(0, 2000) + "\nfront-end error log:\n" + error_log,
                               failures.empty());
        CPPUNIT_ASSERT_MESSAGE("no answer from the new pid " + std::to_string(pid) + "\n" + old.log(), new_pid_answered);
        CPPUNIT_ASSERT_MESSAGE("the new process answered only after the old one exited", old_still_draining);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old_exited);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(old.log(), 0, old.exit_code());
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.log().find("after=reload") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), count_exact_lines(job_log, "done long"));
        CPPUNIT_ASSERT_MESSAGE("no answers after the old process exited", served_after);
        CPPUNIT_ASSERT_MESSAGE("the successor did not stop", stop_successor(pid));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(FrontendReloadTest, "integration");
