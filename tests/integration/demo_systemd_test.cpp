// sd_notify: under a Type=notify unit the demo says READY=1 once it serves and
// STOPPING=1 when the drain begins, on the datagram socket systemd names in NOTIFY_SOCKET.
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

using namespace fcgihost::testing_support;

namespace {

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
public:
    explicit NotifySocket(const std::string& address) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::string path = address;
        if (path[0] == '@') path[0] = '\0';
        std::memcpy(addr.sun_path, path.data(), path.size());
        socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
        CPPUNIT_ASSERT_EQUAL(0, bind(fd_, reinterpret_cast<sockaddr*>(&addr), len));
    }
    ~NotifySocket() { close(fd_); }
    // The next message, or "" if none comes within the limit.
    std::string next(std::chrono::milliseconds limit) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(limit.count())) != 1) return "";
        char buf[4096];
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }

private:
    int fd_;
};

}  // namespace

class DemoSystemdTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoSystemdTest);
    CPPUNIT_TEST(ready_then_stopping_on_a_path_socket);
    CPPUNIT_TEST(ready_on_an_abstract_socket);
    CPPUNIT_TEST_SUITE_END();

public:
    void ready_then_stopping_on_a_path_socket() {
        TempDir dir;
        NotifySocket systemd(dir.file("notify"));
        ChildProcess demo({demo_binary(), "--socket", dir.file("s")}, dir.file("log"),
                          {"NOTIFY_SOCKET=" + dir.file("notify")});
        std::string ready = systemd.next(std::chrono::seconds(10));
        CPPUNIT_ASSERT_MESSAGE(ready, ready.find("READY=1") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), fcgi_get(dir.file("s"), "/").body);
        demo.signal(SIGTERM);
        std::string stopping = systemd.next(std::chrono::seconds(10));
        CPPUNIT_ASSERT_MESSAGE(stopping, stopping.find("STOPPING=1") != std::string::npos);
        CPPUNIT_ASSERT(demo.wait_exit(std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(0, demo.exit_code());
    }

    void ready_on_an_abstract_socket() {
        TempDir dir;
        std::string name = "@fcgihost-test-" + std::to_string(getpid());
        NotifySocket systemd(name);
        ChildProcess demo({demo_binary(), "--socket", dir.file("s")}, dir.file("log"), {"NOTIFY_SOCKET=" + name});
        CPPUNIT_ASSERT(systemd.next(std::chrono::seconds(10)).find("READY=1") != std::string::npos);
        demo.signal(SIGTERM);
        CPPUNIT_ASSERT(demo.wait_exit(std::chrono::seconds(10)));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoSystemdTest, "integration");
