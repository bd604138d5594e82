// A reload under a Type=notify unit (systemd 252 has no notify-reload): the successor says
// READY=1 itself, the old process makes it the main pid (MAINPID=) and waits for systemd to
// confirm (the BARRIER=1 protocol) before it drains, and never says STOPPING=1. A fake
// notification socket checks the order and answers the barrier as systemd does: it closes
// the pipe end it was sent.
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kLimit = std::chrono::seconds(20);

class FakeSystemd {
public:
    explicit FakeSystemd(const std::string& path) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        CPPUNIT_ASSERT_EQUAL(0, bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    }
    ~FakeSystemd() { close(fd_); }
    // The next message ("" if none within the limit); an fd passed with it is counted and closed.
    std::string next(std::chrono::milliseconds limit) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(limit.count())) != 1) return "";
        char buf[4096];
        iovec iov{buf, sizeof buf};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const ssize_t n = recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
                close(fd);  // "processed": the sender's POLLHUP
                ++fds_received;
            }
        }
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }
    int fds_received = 0;

private:
    int fd_;
};

long successor_pid(const std::string& log) { return static_cast<long>(number_after(log, "started successor pid ")); }

}  // namespace

class DemoSystemdReloadTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoSystemdReloadTest);
    CPPUNIT_TEST(successor_becomes_main_pid_before_the_old_process_drains);
    CPPUNIT_TEST_SUITE_END();

public:
    void successor_becomes_main_pid_before_the_old_process_drains() {
        TempDir dir;
        FakeSystemd systemd(dir.file("notify"));
        ChildProcess old({demo_binary(), "--socket", dir.file("s")}, dir.file("log"),
                         {"NOTIFY_SOCKET=" + dir.file("notify")});
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), systemd.next(kLimit).rfind("READY=1", 0));
        old.signal(SIGUSR2);
        std::vector<std::string> messages;
        for (std::string m = systemd.next(kLimit); !m.empty(); m = systemd.next(std::chrono::milliseconds(500))) {
            messages.push_back(m);
        }
        const long pid = successor_pid(old.log());
        CPPUNIT_ASSERT_MESSAGE(old.log(), pid > 0);
        std::string seen;
        for (const std::string& m : messages) seen += "[" + m + "] ";
        // The successor's READY=1, then MAINPID=<successor>, then the barrier; no STOPPING=1.
        CPPUNIT_ASSERT_MESSAGE(seen, messages.size() >= 3);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(seen, std::size_t(0), messages[0].rfind("READY=1", 0));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(seen, std::size_t(0), messages[1].rfind("MAINPID=" + std::to_string(pid) + "\n", 0));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(seen, std::string("BARRIER=1"), messages[2]);
        CPPUNIT_ASSERT_EQUAL(1, systemd.fds_received);
        CPPUNIT_ASSERT_MESSAGE(seen, seen.find("STOPPING=1") == std::string::npos);
        CPPUNIT_ASSERT(old.wait_exit(kLimit));
        CPPUNIT_ASSERT_EQUAL(0, old.exit_code());
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.log().find("did not confirm") == std::string::npos);
        // The successor is the unit's now: a stop makes it say STOPPING=1.
        kill(static_cast<pid_t>(pid), SIGTERM);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), systemd.next(kLimit).rfind("STOPPING=1", 0));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoSystemdReloadTest, "integration");
