// fcgihost-demo and where its listening socket comes from (docs/contract.md#listening-socket): fd 0 and
// LISTEN_FDS handed over by a holder that outlives the process, --socket and --listen
// created by it, and bad startup input refused with exit 2 before any socket exists.
//
// The holder is the test itself: it binds and listens, passes the fd to each demo, and
// keeps it across their lifetimes, as spawn-fcgi, mod_fcgid or systemd would.
#include "integration/demo_process.hpp"
#include "support/fcgi_outcome.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

using namespace fcgihost::testing_support;

namespace {

const std::chrono::seconds kStartLimit(10);
const std::chrono::seconds kExitLimit(20);

// Closes the fd it holds.
class OwnedFd {
public:
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;
    explicit OwnedFd(int fd) : fd_(fd) { CPPUNIT_ASSERT_MESSAGE(std::strerror(errno), fd >= 0); }
    OwnedFd(OwnedFd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    ~OwnedFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

bool path_exists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The socket a holder keeps: bound at `path`, listening, blocking, never unlinked here.
OwnedFd held_socket(const std::string& path) {
    OwnedFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    CPPUNIT_ASSERT_EQUAL(0, bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    CPPUNIT_ASSERT_EQUAL(0, listen(fd.get(), 16));
    return fd;
}

// SIGTERM, then the exit status (-1 if it did not exit within the limit).
int terminate(ChildProcess& process) {
    process.signal(SIGTERM);
    return process.wait_exit(kExitLimit) ? process.exit_code() : -1;
}

// Everything on FCGI_STDOUT for request 1 up to its FCGI_END_REQUEST; fails the test if
// the responder goes quiet for `wait` or closes first.
std::string stdout_until_end(FcgiConnection& connection, std::chrono::milliseconds wait) {
    std::string out;
    for (;;) {
        std::optional<FcgiRecord> record = connection.read_record(wait);
        CPPUNIT_ASSERT_MESSAGE("no FCGI_END_REQUEST for the queued request; stdout so far: " + out, record);
        if (record->type == kFcgiStdout) out += record->content;
        if (record->type == kFcgiEndRequest) return out;
    }
}

std::string body_of(const std::string& cgi_output) {
    std::size_t blank = cgi_output.find("\r\n\r\n");
    return blank == std::string::npos ? std::string() : cgi_output.substr(blank + 4);
}

}  // namespace

class DemoSocketTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoSocketTest);
    CPPUNIT_TEST(fd0_is_served_and_its_backlog_survives_a_restart);
    CPPUNIT_TEST(listen_fds_socket_activation_is_served);
    CPPUNIT_TEST(bad_startup_input_exits_2_before_any_socket);
    CPPUNIT_TEST(flag_wins_over_environment);
    CPPUNIT_TEST(socket_of_a_running_demo_is_in_use);
    CPPUNIT_TEST(socket_mode_flag_sets_the_file_mode);
    CPPUNIT_TEST(listen_serves_tcp);
    CPPUNIT_TEST(listen_refuses_peers_outside_web_server_addrs);
    CPPUNIT_TEST(stop_refuses_backlogged_peers_outside_web_server_addrs);
    CPPUNIT_TEST_SUITE_END();

public:
    void fd0_is_served_and_its_backlog_survives_a_restart() {
        TempDir tmp;
        std::string path = tmp.file("held.sock");
        OwnedFd held = held_socket(path);
        std::vector<std::string> argv = {demo_binary(), "--job-log", tmp.file("jobs.log")};
        {
            ChildProcess first(argv, tmp.file("first.log"), {}, held.get());
            CPPUNIT_ASSERT_MESSAGE(first.log(), first.wait_for_log("listening on fd 0 (inherited)", kStartLimit));
            CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), fcgi_get(path, "/").body);
            CPPUNIT_ASSERT_EQUAL(0, terminate(first));
        }
        CPPUNIT_ASSERT_MESSAGE("an inherited socket's path must never be unlinked", path_exists(path));

        // Nobody accepts now: the connection and its request wait in the holder's backlog.
        FcgiConnection queued = FcgiConnection::connect_unix(path);
        queued.send_raw(fcgi_request_bytes(cgi_params("GET", "/"), "", false, 1));

        ChildProcess second(argv, tmp.file("second.log"), {}, held.get());
        std::string output = stdout_until_end(queued, std::chrono::seconds(10));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), body_of(output));
        CPPUNIT_ASSERT(contains(second.log(), "listening on fd 0 (inherited)"));
        CPPUNIT_ASSERT_EQUAL(0, terminate(second));
        CPPUNIT_ASSERT(path_exists(path));
    }

    void listen_fds_socket_activation_is_served() {
        TempDir tmp;
        std::string path = tmp.file("held.sock");
        OwnedFd held = held_socket(path);
        // sh's $$ is its own pid, and exec keeps it: LISTEN_PID names the demo, as systemd's would.
        ChildProcess demo({"/bin/sh", "-c", "exec 3<&0 0</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" \"$@\"",
                           demo_binary(), "--job-log", tmp.file("jobs.log")},
                          tmp.file("demo.log"), {}, held.get());
        CPPUNIT_ASSERT_MESSAGE(demo.log(), demo.wait_for_log("listening on LISTEN_FDS fd 3 (inherited)", kStartLimit));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), fcgi_get(path, "/").body);
        CPPUNIT_ASSERT_EQUAL(0, terminate(demo));
        CPPUNIT_ASSERT(path_exists(path));
        CPPUNIT_ASSERT_NO_THROW_MESSAGE("the held socket must still take connections",
                                        FcgiConnection::connect_unix(path));
    }

    void bad_startup_input_exits_2_before_any_socket() {
        expect_refused({"--workers", "zero"}, {}, "--workers");
        expect_refused({"--nope", "1"}, {}, "--nope");
        expect_refused({}, {"FCGIHOST_DRAIN_TIMEOUT=soon"}, "FCGIHOST_DRAIN_TIMEOUT");
        expect_refused({"--listen", "127.0.0.1:1"}, {}, "--listen");
        expect_refused({"--socket-owner", "no-such-user-fcgihost"}, {}, "--socket-owner");
        expect_refused({"--socket-owner", "root:no-such-group-fcgihost"}, {}, "--socket-owner");
    }

    void flag_wins_over_environment() {
        TempDir tmp;
        ChildProcess demo({demo_binary(), "--socket", tmp.file("d.sock"), "--job-log", tmp.file("jobs.log"),
                           "--drain-timeout", "7s"},
                          tmp.file("demo.log"), {"FCGIHOST_DRAIN_TIMEOUT=1ms"});
        CPPUNIT_ASSERT_MESSAGE(demo.log(), demo.wait_for_log("listening on", kStartLimit));
        CPPUNIT_ASSERT_MESSAGE(demo.log(), contains(demo.log(), "drain timeout 7000 ms"));
        CPPUNIT_ASSERT_EQUAL(0, terminate(demo));
    }

    void socket_of_a_running_demo_is_in_use() {
        DemoProcess first;
        TempDir tmp;
        ChildProcess second({demo_binary(), "--socket", first.socket_path(), "--job-log", tmp.file("jobs.log")},
                            tmp.file("second.log"));
        CPPUNIT_ASSERT(second.wait_exit(kExitLimit));
        CPPUNIT_ASSERT_EQUAL(1, second.exit_code());
        CPPUNIT_ASSERT_MESSAGE(second.log(), contains(second.log(), "in use"));
        CPPUNIT_ASSERT(path_exists(first.socket_path()));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), first.get("/").body);
        CPPUNIT_ASSERT_EQUAL(0, first.stop(SIGTERM));
    }

    void socket_mode_flag_sets_the_file_mode() {
        DemoProcess demo({"--socket-mode", "0600"});
        struct stat st;
        CPPUNIT_ASSERT_EQUAL(0, stat(demo.socket_path().c_str(), &st));
        CPPUNIT_ASSERT(S_ISSOCK(st.st_mode));
        CPPUNIT_ASSERT_EQUAL(static_cast<mode_t>(0600), st.st_mode & 0777);
        // Read where a "Permission denied" from nginx's workers is explained.
        CPPUNIT_ASSERT_MESSAGE(demo.log(), contains(demo.log(), "socket " + demo.socket_path() + ": mode 0600, owner "));
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
        CPPUNIT_ASSERT_MESSAGE("a created socket is removed on exit", !path_exists(demo.socket_path()));
    }

    void listen_serves_tcp() {
        TempDir tmp;
        int port = 0;
        std::unique_ptr<ChildProcess> demo = start_on_free_port(
            "127.0.0.1", {demo_binary(), "--job-log", tmp.file("jobs.log")}, tmp.file("demo.log"),
            {"FCGI_WEB_SERVER_ADDRS"}, port, kStartLimit);
        CPPUNIT_ASSERT_MESSAGE(demo->log(), contains(demo->log(), "listening on tcp:127.0.0.1:" + std::to_string(port)));
        FcgiConnection c = FcgiConnection::connect_tcp("127.0.0.1", port);
        FcgiResponse r = c.request(cgi_params("GET", "/"));
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), r.body);
        CPPUNIT_ASSERT_EQUAL(0, terminate(*demo));
    }

    void listen_refuses_peers_outside_web_server_addrs() {
        TempDir tmp;
        int port = 0;
        std::unique_ptr<ChildProcess> demo = start_on_free_port(
            "127.0.0.1", {demo_binary(), "--job-log", tmp.file("jobs.log")}, tmp.file("demo.log"),
            {"FCGI_WEB_SERVER_ADDRS=10.0.0.1"}, port, kStartLimit);
        CPPUNIT_ASSERT_MESSAGE(demo->log(), contains(demo->log(), "listening on tcp:127.0.0.1:" + std::to_string(port)));
        FcgiConnection c = FcgiConnection::connect_tcp("127.0.0.1", port);
        c.send_raw(fcgi_request_bytes(cgi_params("GET", "/"), "", false, 1));
        CPPUNIT_ASSERT_EQUAL(std::string(), c.read_some(std::chrono::seconds(10)));
        CPPUNIT_ASSERT_MESSAGE("a refused peer must be closed, not left waiting", c.peer_closed(std::chrono::seconds(10)));
        CPPUNIT_ASSERT_MESSAGE(demo->log(), demo->wait_for_log("FCGI_WEB_SERVER_ADDRS", kStartLimit));
        CPPUNIT_ASSERT_EQUAL(0, terminate(*demo));
    }

    void stop_refuses_backlogged_peers_outside_web_server_addrs() {
        // The stop takes the connections still in the backlog itself (close_listener_locked);
        // it must refuse the same peers as a normal accept.
        TempDir tmp;
        int port = 0;
        std::unique_ptr<ChildProcess> started = start_on_free_port(
            "127.0.0.1", {demo_binary(), "--threads", "1", "--max-body", "8M", "--job-log", tmp.file("jobs.log")},
            tmp.file("demo.log"), {"FCGI_WEB_SERVER_ADDRS=127.0.0.1"}, port, kStartLimit);
        ChildProcess& demo = *started;
        CPPUNIT_ASSERT_MESSAGE(demo.log(), contains(demo.log(), "listening on tcp:127.0.0.1:" + std::to_string(port)));
        // The only request thread takes a 4 MiB echo whose answer is not read yet: once its
        // answer has begun, it is inside that request and accepts nothing. (Until the whole
        // request has come, the thread is free: it does not wait for a body.)
        const std::string body(4 << 20, 'e');
        FcgiConnection busy = FcgiConnection::connect_tcp("127.0.0.1", port);
        busy.send_raw(fcgi_request_bytes(cgi_params("POST", "/echo", body.size()), body, false, 1));
        const std::optional<FcgiRecord> answer_begun = busy.read_record(kStartLimit);
        CPPUNIT_ASSERT(answer_begun && answer_begun->type == kFcgiStdout);
        demo.signal(SIGTERM);
        CPPUNIT_ASSERT(demo.wait_for_log("draining", kStartLimit));
        // Two connections wait in the backlog: one from 127.0.0.2, which is not allowed.
        const int outsider = connect_from("127.0.0.2", port);
        FcgiConnection allowed = FcgiConnection::connect_tcp("127.0.0.1", port);
        allowed.send_raw(fcgi_request_bytes(cgi_params("GET", "/"), "", false, 1));
        FcgiOutcome busy_outcome = fcgi_outcome(busy, kStartLimit);
        busy_outcome.records.insert(busy_outcome.records.begin(), *answer_begun);
        CPPUNIT_ASSERT_EQUAL(body, busy_outcome.body());
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), fcgi_outcome(allowed, kStartLimit).body());
        char byte;
        CPPUNIT_ASSERT_EQUAL(ssize_t(0), ::recv(outsider, &byte, 1, 0));  // closed unanswered
        ::close(outsider);
        CPPUNIT_ASSERT(demo.wait_exit(kExitLimit));
        CPPUNIT_ASSERT_EQUAL(0, demo.exit_code());
        CPPUNIT_ASSERT_MESSAGE(demo.log(), contains(demo.log(), "connection refused: peer not in FCGI_WEB_SERVER_ADDRS"));
        CPPUNIT_ASSERT_MESSAGE(demo.log(), contains(demo.log(), "stop: took 1 queued connection(s) from the backlog"));
    }

private:
    // A TCP connection to 127.0.0.1:`port` from `source` (any 127.x address is local).
    static int connect_from(const char* source, int port) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in from{};
        from.sin_family = AF_INET;
        CPPUNIT_ASSERT_EQUAL(1, inet_pton(AF_INET, source, &from.sin_addr));
        CPPUNIT_ASSERT_EQUAL(0, ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from));
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(static_cast<std::uint16_t>(port));
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CPPUNIT_ASSERT_EQUAL(0, ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to));
        timeval tv{10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        return fd;
    }

    // Runs the demo with --socket plus `args` and `env`; it must exit 2 with one line that
    // names `culprit`, and the socket must never have been created.
    void expect_refused(const std::vector<std::string>& args, const std::vector<std::string>& env,
                        const std::string& culprit) {
        TempDir tmp;
        std::string socket = tmp.file("x.sock");
        std::vector<std::string> argv = {demo_binary(), "--socket", socket, "--job-log", tmp.file("jobs.log")};
        argv.insert(argv.end(), args.begin(), args.end());
        ChildProcess demo(argv, tmp.file("demo.log"), env);
        CPPUNIT_ASSERT_MESSAGE(culprit, demo.wait_exit(kExitLimit));
        std::string log = demo.log();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, 2, demo.exit_code());
        std::string first_line = log.substr(0, log.find('\n'));
        CPPUNIT_ASSERT_MESSAGE(log, contains(first_line, culprit));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::string::difference_type(1), std::count(log.begin(), log.end(), '\n'));
        CPPUNIT_ASSERT_MESSAGE(culprit + ": socket created before the refusal", !path_exists(socket));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoSocketTest, "integration");
