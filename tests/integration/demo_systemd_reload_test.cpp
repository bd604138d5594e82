// A reload under a Type=notify unit (systemd 252 has no notify-reload): the successor says
// READY=1 itself, the old process makes it the main pid (MAINPID=) and waits for systemd to
// confirm (the BARRIER=1 protocol) before it drains, and never says STOPPING=1. A fake
// notification socket checks the order and answers the barrier as systemd does: it closes
// the pipe end it was sent.
#include "integration/demo_process.hpp"
#include "support/status_load.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <vector>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kLimit = std::chrono::seconds(20);

class FakeSystemd {
public:
    // confirm: close each fd passed (a barrier's pipe end) at once, as systemd does; false:
    // keep them open until destruction, as a systemd that never gets to the message would.
    explicit FakeSystemd(const std::string& path, bool confirm = true) : confirm_(confirm) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        CPPUNIT_ASSERT_EQUAL(0, bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    }
    ~FakeSystemd() {
        for (int fd : kept_) close(fd);
        close(fd_);
    }
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
                if (confirm_) {
                    close(fd);  // "processed": the sender's POLLHUP
                } else {
                    kept_.push_back(fd);
                }
                ++fds_received;
            }
        }
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }
    int fds_received = 0;

private:
    const bool confirm_;
    std::vector<int> kept_;
    int fd_;
};

}  // namespace

class DemoSystemdReloadTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoSystemdReloadTest);
    CPPUNIT_TEST(successor_becomes_main_pid_before_the_old_process_drains);
    CPPUNIT_TEST(a_barrier_never_confirmed_is_waited_for_5_s_then_the_drain_goes_on);
    CPPUNIT_TEST_SUITE_END();

public:
    void successor_becomes_main_pid_before_the_old_process_drains() {
        TempDir dir;
        FakeSystemd systemd(dir.file("notify"));
        ChildProcess old({demo_binary(), "--socket", dir.file("s")}, dir.file("log"),
                         {"NOTIFY_SOCKET=" + dir.file("notify")});
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), systemd.next(kLimit).rfind("READY=1", 0));
        old.signal(SIGUSR2);
        // Up to the barrier, each message may come late (a slow machine); after it, the old
        // process has nothing left to send but a wrong STOPPING=1, which comes before its
        // exit: once it has exited, what it sent is all queued here.
        std::vector<std::string> messages;
        for (std::string m = systemd.next(kLimit); !m.empty(); m = systemd.next(kLimit)) {
            messages.push_back(m);
            if (m == "BARRIER=1") break;
        }
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_exit(kLimit));
        for (std::string m = systemd.next(std::chrono::milliseconds(0)); !m.empty();
             m = systemd.next(std::chrono::milliseconds(0))) {
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
        CPPUNIT_ASSERT_EQUAL(0, old.exit_code());
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.log().find("did not confirm") == std::string::npos);
        // The successor is the unit's now: a stop makes it say STOPPING=1.
        kill(static_cast<pid_t>(pid), SIGTERM);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), systemd.next(kLimit).rfind("STOPPING=1", 0));
    }

    // systemd overloaded, or a NOTIFY_SOCKET that is not systemd's: MAINPID= was sent, the
    // confirmation never comes. The old process waits a bounded 5 s (the successor serves
    // meanwhile), logs it, and drains as on any reload; nothing is stopped or undone, since
    // a systemd that processes MAINPID= late must find the successor running.
    void a_barrier_never_confirmed_is_waited_for_5_s_then_the_drain_goes_on() {
        TempDir dir;
        FakeSystemd systemd(dir.file("notify"), false);
        ChildProcess old({demo_binary(), "--socket", dir.file("s")}, dir.file("log"),
                         {"NOTIFY_SOCKET=" + dir.file("notify")});
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), systemd.next(kLimit).rfind("READY=1", 0));
        StatusLoad load(fcgi_status_client(dir.file("s")), 1, 1);
        old.signal(SIGUSR2);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_for_log("did not confirm MAINPID=", kLimit));
        const long pid = successor_pid(old.log());
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.log().find("did not confirm MAINPID=" + std::to_string(pid) +
                                                         " within 5 s; draining anyway") != std::string::npos);
        std::string seen;
        for (std::string m = systemd.next(kLimit); !m.empty(); m = systemd.next(std::chrono::milliseconds(500))) {
            seen += "[" + m + "] ";
        }
        CPPUNIT_ASSERT_MESSAGE(seen, seen.find("[MAINPID=" + std::to_string(pid) + "\n") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(seen, seen.find("[BARRIER=1]") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(1, systemd.fds_received);
        CPPUNIT_ASSERT_MESSAGE(old.log(), old.wait_exit(kLimit));
        CPPUNIT_ASSERT_EQUAL(0, old.exit_code());
        CPPUNIT_ASSERT(eventually([&] { return load.answered_by(pid); }, kLimit));
        load.stop();
        CPPUNIT_ASSERT_EQUAL(std::string(), load.failures());
        CPPUNIT_ASSERT(stop_successor(pid));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoSystemdReloadTest, "integration");
