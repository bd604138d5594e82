// Tests for src/fastcgi/acceptor.hpp: accept_one() on created (non-blocking) and inherited
// (blocking, shared) sockets, stop() getting threads out of a blocking accept4(), the
// backlog taken at the stop, and FCGI_WEB_SERVER_ADDRS refusals.
#include "fastcgi/acceptor.hpp"

#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <vector>

using namespace fcgihost;
using namespace fcgihost::testing_support;

namespace {

const std::chrono::seconds kPrompt(5);

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    return addr;
}

}  // namespace

class AcceptorTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AcceptorTest);
    CPPUNIT_TEST(created_socket_never_blocks);
    CPPUNIT_TEST(stop_gets_a_thread_out_of_a_blocking_accept);
    CPPUNIT_TEST(stop_right_after_a_thread_registers_still_wakes_it);
    CPPUNIT_TEST(backlog_is_taken_only_from_a_created_socket);
    CPPUNIT_TEST(refused_peer_is_closed_and_nothing_is_pending);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { dir_.reset(new TempDir()); }

    void tearDown() override {
        for (int fd : fds_) ::close(fd);
        fds_.clear();
        dir_.reset();
    }

    void created_socket_never_blocks() {
        std::string path = dir_->file("c.sock");
        Listener listener = Listener::create_unix(path, 0660, "", 16);
        Acceptor acceptor(listener);
        CPPUNIT_ASSERT(acceptor.accept_one().outcome == Acceptor::Outcome::none_pending);
        connect_unix(path);
        Acceptor::Accepted accepted = acceptor.accept_one();
        CPPUNIT_ASSERT(accepted.outcome == Acceptor::Outcome::connection);
        keep(accepted.fd);
        CPPUNIT_ASSERT((fcntl(accepted.fd, F_GETFD) & FD_CLOEXEC) != 0);
        acceptor.stop();
        CPPUNIT_ASSERT(acceptor.accept_one().outcome == Acceptor::Outcome::stopped);
    }

    // Another process took the connection epoll announced: this thread waits in accept4()
    // on the shared blocking socket, and only stop() can get it out.
    void stop_gets_a_thread_out_of_a_blocking_accept() {
        int held = blocking_listener("b.sock");
        Listener listener = Listener::adopt(keep(dup(held)), "fd 0");
        Acceptor acceptor(listener);
        std::promise<void> entering;
        std::future<Acceptor::Outcome> outcome = std::async(std::launch::async, [&] {
            Acceptor::prepare_thread();
            entering.set_value();
            return acceptor.accept_one().outcome;
        });
        entering.get_future().wait();
        CPPUNIT_ASSERT_MESSAGE("accept_one returned with nothing queued on a blocking socket",
                               outcome.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
        std::future<void> stopped = std::async(std::launch::async, [&] { acceptor.stop(); });
        const bool returned = stopped.wait_for(kPrompt) == std::future_status::ready;
        if (!returned) connect_unix(dir_->file("b.sock"));  // lets accept4 return, so the test can end
        CPPUNIT_ASSERT_MESSAGE("stop() did not get the thread out of accept4", returned);
        CPPUNIT_ASSERT(outcome.get() == Acceptor::Outcome::stopped);
        CPPUNIT_ASSERT_MESSAGE("the shared socket's mode changed", (fcntl(held, F_GETFL) & O_NONBLOCK) == 0);
    }

    // A wake signal sent before the thread is inside accept4() is lost; stop() repeats it.
    void stop_right_after_a_thread_registers_still_wakes_it() {
        int held = blocking_listener("r.sock");
        Listener listener = Listener::adopt(keep(dup(held)), "fd 0");
        for (int round = 0; round < 20; ++round) {
            Acceptor acceptor(listener);
            std::future<Acceptor::Outcome> outcome = std::async(std::launch::async, [&] {
                Acceptor::prepare_thread();
                return acceptor.accept_one().outcome;
            });
            std::future<void> stopped = std::async(std::launch::async, [&] { acceptor.stop(); });
            const bool returned = stopped.wait_for(kPrompt) == std::future_status::ready;
            if (!returned) connect_unix(dir_->file("r.sock"));  // lets accept4 return, so the test can end
            CPPUNIT_ASSERT_MESSAGE("stop() did not get the thread out of accept4", returned);
            const Acceptor::Outcome result = outcome.get();
            // The thread may also have seen stop() before it registered.
            CPPUNIT_ASSERT(result == Acceptor::Outcome::stopped);
        }
    }

    // A created socket's queued connections are served at the stop; an inherited socket's
    // wait in the holder's backlog for the next process.
    void backlog_is_taken_only_from_a_created_socket() {
        std::string path = dir_->file("c.sock");
        Listener created = Listener::create_unix(path, 0660, "", 16);
        connect_unix(path);
        connect_unix(path);
        Acceptor created_acceptor(created);
        created_acceptor.stop();
        std::vector<int> taken = created_acceptor.take_backlog();
        for (int fd : taken) keep(fd);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), taken.size());

        int held = blocking_listener("h.sock");
        fcntl(held, F_SETFL, fcntl(held, F_GETFL) | O_NONBLOCK);  // so the test's own accept cannot hang
        Listener inherited = Listener::adopt(keep(dup(held)), "fd 0");
        connect_unix(dir_->file("h.sock"));
        Acceptor inherited_acceptor(inherited);
        inherited_acceptor.stop();
        CPPUNIT_ASSERT(inherited_acceptor.take_backlog().empty());
        const int still_queued = accept4(held, nullptr, nullptr, SOCK_CLOEXEC);
        CPPUNIT_ASSERT_MESSAGE("the inherited backlog must be left for the next process", still_queued >= 0);
        keep(still_queued);
    }

    void refused_peer_is_closed_and_nothing_is_pending() {
        const char* saved = std::getenv("FCGI_WEB_SERVER_ADDRS");
        const std::string saved_value = saved != nullptr ? saved : "";
        setenv("FCGI_WEB_SERVER_ADDRS", "127.0.0.2", 1);
        Listener listener = Listener::create_tcp("127.0.0.1:0", 16);
        if (saved != nullptr) setenv("FCGI_WEB_SERVER_ADDRS", saved_value.c_str(), 1);
        else unsetenv("FCGI_WEB_SERVER_ADDRS");
        sockaddr_in bound{};
        socklen_t len = sizeof bound;
        CPPUNIT_ASSERT_EQUAL(0, getsockname(listener.fd(), reinterpret_cast<sockaddr*>(&bound), &len));
        int client = keep(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        CPPUNIT_ASSERT_EQUAL(0, connect(client, reinterpret_cast<sockaddr*>(&bound), sizeof bound));
        Acceptor acceptor(listener);
        CPPUNIT_ASSERT(acceptor.accept_one().outcome == Acceptor::Outcome::none_pending);
        timeval tv{5, 0};
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char byte;
        CPPUNIT_ASSERT_EQUAL_MESSAGE("the refused peer must be closed", ssize_t(0), recv(client, &byte, 1, 0));
    }

private:
    int keep(int fd) {
        CPPUNIT_ASSERT_MESSAGE(std::strerror(errno), fd >= 0);
        fds_.push_back(fd);
        return fd;
    }

    // A blocking listening unix socket, made the way spawn-fcgi makes the one it shares.
    int blocking_listener(const std::string& name) {
        int fd = keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr = unix_address(dir_->file(name));
        CPPUNIT_ASSERT_EQUAL(0, bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
        CPPUNIT_ASSERT_EQUAL(0, listen(fd, 16));
        return fd;
    }

    void connect_unix(const std::string& path) {
        int fd = keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr = unix_address(path);
        CPPUNIT_ASSERT_EQUAL(0, connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    }

    std::unique_ptr<TempDir> dir_;
    std::vector<int> fds_;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(AcceptorTest, "unit");
