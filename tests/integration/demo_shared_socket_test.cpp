// fcgihost-demo on a listening socket it shares or hands on: one inherited socket held by
// two processes at once (spawn-fcgi -F 2), a created socket's path at the stop, and the fds
// systemd passes beyond the one it uses.
#include "integration/demo_process.hpp"
#include "support/fcgi_outcome.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

using namespace fcgihost::testing_support;

namespace {

const std::chrono::seconds kStartLimit(10);

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool nonblocking(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

bool path_exists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
}

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

// A blocking TCP listener on 127.0.0.1, made as spawn-fcgi makes the socket it shares.
OwnedFd held_tcp_socket(int& port) {
    OwnedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CPPUNIT_ASSERT_EQUAL(0, bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    CPPUNIT_ASSERT_EQUAL(0, listen(fd.get(), 16));
    socklen_t len = sizeof addr;
    CPPUNIT_ASSERT_EQUAL(0, getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len));
    port = ntohs(addr.sin_port);
    return fd;
}

// A TCP connection to 127.0.0.1:`port` from `source` (any 127.x address is local).
OwnedFd connect_from(const char* source, int port) {
    OwnedFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in from{};
    from.sin_family = AF_INET;
    CPPUNIT_ASSERT_EQUAL(1, inet_pton(AF_INET, source, &from.sin_addr));
    CPPUNIT_ASSERT_EQUAL(0, ::bind(fd.get(), reinterpret_cast<sockaddr*>(&from), sizeof from));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CPPUNIT_ASSERT_EQUAL(0, ::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to));
    return fd;
}

// The "flags:" line of /proc/PID/fdinfo/FD, as a number (-1 if there is none).
long fd_flags_of(pid_t pid, int fd) {
    std::istringstream info(read_file("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd)));
    std::string line;
    while (std::getline(info, line)) {
        if (line.compare(0, 6, "flags:") == 0) return std::strtol(line.c_str() + 6, nullptr, 8);
    }
    return -1;
}

}  // namespace

class DemoSharedSocketTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoSharedSocketTest);
    CPPUNIT_TEST(shared_socket_drain_ends_after_a_refused_peer);
    CPPUNIT_TEST(created_socket_path_goes_at_the_signal_while_every_thread_is_busy);
    CPPUNIT_TEST(listen_fds_beyond_the_first_are_close_on_exec);
    CPPUNIT_TEST_SUITE_END();

public:
    // Two processes on one inherited socket. A's exit must not make the shared socket
    // blocking under B's feet, and a peer B refuses must not leave B stuck in accept()
    // where a stop cannot reach it: B exits within its drain timeout.
    void shared_socket_drain_ends_after_a_refused_peer() {
        TempDir tmp;
        int port = 0;
        OwnedFd held = held_tcp_socket(port);
        const std::vector<std::string> env = {"FCGI_WEB_SERVER_ADDRS=127.0.0.1"};
        ChildProcess a({demo_binary(), "--job-log", tmp.file("a.jobs"), "--drain-timeout", "2s"}, tmp.file("a.log"),
                       env, held.get());
        ChildProcess b({demo_binary(), "--job-log", tmp.file("b.jobs"), "--drain-timeout", "2s"}, tmp.file("b.log"),
                       env, held.get());
        CPPUNIT_ASSERT_MESSAGE(a.log(), a.wait_for_log("listening on fd 0 (inherited)", kStartLimit));
        CPPUNIT_ASSERT_MESSAGE(b.log(), b.wait_for_log("listening on fd 0 (inherited)", kStartLimit));
        CPPUNIT_ASSERT_MESSAGE("a process changed the shared socket's O_NONBLOCK", !nonblocking(held.get()));

        a.signal(SIGTERM);
        CPPUNIT_ASSERT(a.wait_exit(std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(0, a.exit_code());
        CPPUNIT_ASSERT_MESSAGE("A's exit changed the shared socket's O_NONBLOCK", !nonblocking(held.get()));

        OwnedFd outsider = connect_from("127.0.0.2", port);
        CPPUNIT_ASSERT_MESSAGE(b.log(), b.wait_for_log("peer not in FCGI_WEB_SERVER_ADDRS", kStartLimit));
        const auto signalled = std::chrono::steady_clock::now();
        b.signal(SIGTERM);
        // The drain timeout (2 s) bounds the exit; 4 s more is for a slow machine.
        const bool exited = b.wait_exit(std::chrono::seconds(6));
        CPPUNIT_ASSERT_MESSAGE("B did not exit after SIGTERM:\n" + b.log(), exited);
        CPPUNIT_ASSERT_EQUAL(0, b.exit_code());
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - signalled < std::chrono::seconds(6));
    }

    // With the only request thread busy, the path must still go at once: new connects fail
    // fast (nginx tries its next upstream) instead of queueing for a process that stops.
    void created_socket_path_goes_at_the_signal_while_every_thread_is_busy() {
        DemoProcess demo({"--threads", "1", "--max-body", "8M"});
        // A 4 MiB echo whose answer is not read yet: once the body has gone out, the only
        // request thread is inside that request, writing.
        const std::string body(4 << 20, 'e');
        FcgiConnection busy = FcgiConnection::connect_unix(demo.socket_path());
        busy.send_raw(fcgi_request_bytes(cgi_params("POST", "/echo", body.size()), body, false, 1));
        demo.process().signal(SIGTERM);
        CPPUNIT_ASSERT(demo.process().wait_for_log("draining", kStartLimit));
        CPPUNIT_ASSERT_MESSAGE("the socket path stayed while the request thread was busy",
                               eventually([&] { return !path_exists(demo.socket_path()); }, std::chrono::seconds(3)));
        CPPUNIT_ASSERT_EQUAL(body, fcgi_outcome(busy, kStartLimit).body());
        CPPUNIT_ASSERT(demo.process().wait_exit(std::chrono::seconds(20)));
        CPPUNIT_ASSERT_EQUAL(0, demo.process().exit_code());
    }

    // systemd passes LISTEN_FDS=2; the demo uses fd 3, and fd 4 must not leak into children.
    void listen_fds_beyond_the_first_are_close_on_exec() {
        TempDir tmp;
        int port = 0;
        OwnedFd held = held_tcp_socket(port);
        // sh's $$ is its own pid, and exec keeps it: LISTEN_PID names the demo, as systemd's would.
        ChildProcess demo({"/bin/sh", "-c",
                           "exec 3<&0 4<&0 0</dev/null; LISTEN_PID=$$ LISTEN_FDS=2 exec \"$0\" \"$@\"",
                           demo_binary(), "--job-log", tmp.file("jobs.log")},
                          tmp.file("demo.log"), {}, held.get());
        CPPUNIT_ASSERT_MESSAGE(demo.log(), demo.wait_for_log("listening on LISTEN_FDS fd 3 (inherited)", kStartLimit));
        const long fd3 = fd_flags_of(demo.pid(), 3);
        const long fd4 = fd_flags_of(demo.pid(), 4);
        CPPUNIT_ASSERT(fd3 >= 0 && fd4 >= 0);
        CPPUNIT_ASSERT((fd3 & O_CLOEXEC) != 0);
        CPPUNIT_ASSERT_MESSAGE("LISTEN_FDS fd 4 would leak into children", (fd4 & O_CLOEXEC) != 0);
        CPPUNIT_ASSERT_MESSAGE(demo.log(), contains(demo.log(), "LISTEN_FDS=2: using fd 3 only"));
        demo.signal(SIGTERM);
        CPPUNIT_ASSERT(demo.wait_exit(std::chrono::seconds(20)));
        CPPUNIT_ASSERT_EQUAL(0, demo.exit_code());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoSharedSocketTest, "integration");
