// Tests for fcgihost/listener.hpp: created unix and TCP sockets, stale and live paths,
// adopted (inherited) sockets that must survive us, and FCGI_WEB_SERVER_ADDRS. Each test
// uses real sockets in its own TempDir.
#include "fastcgi/listener.hpp"

#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace fcgihost;
using namespace fcgihost::testing_support;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool path_exists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
}

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    return addr;
}

// Waits (bounded) for a queued connection on `listening` and accepts it.
bool accepts_one(int listening) {
    pollfd p{listening, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return false;
    int client = accept4(listening, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) return false;
    ::close(client);
    return true;
}

bool nonblocking(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

sockaddr_storage ipv4_peer(const char* address) {
    sockaddr_storage storage{};
    sockaddr_in& in = reinterpret_cast<sockaddr_in&>(storage);
    in.sin_family = AF_INET;
    in.sin_port = htons(40000);
    CPPUNIT_ASSERT_EQUAL(1, inet_pton(AF_INET, address, &in.sin_addr));
    return storage;
}

// The ListenerError message of a call that must fail; fails the test if it does not.
template <class Call>
std::string listener_error(Call call) {
    try {
        call();
    } catch (const ListenerError& e) {
        return e.what();
    }
    CPPUNIT_FAIL("no ListenerError thrown");
    return std::string();
}

// Environment variables the tests change, put back as they were in tearDown.
const char* const kTouchedEnv[] = {"FCGI_WEB_SERVER_ADDRS", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"};

// The names in `dir`, without "." and "..", sorted and joined with ",".
std::string entries_of(const std::string& dir) {
    std::vector<std::string> names;
    DIR* d = opendir(dir.c_str());
    CPPUNIT_ASSERT_MESSAGE(std::strerror(errno), d != nullptr);
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    std::string joined;
    for (const std::string& name : names) joined += (joined.empty() ? "" : ",") + name;
    return joined;
}

}  // namespace

class ListenerTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ListenerTest);
    CPPUNIT_TEST(testCreateUnixListensWithMode);
    CPPUNIT_TEST(testDestructorAndRemovePathUnlinkTheirOwnPath);
    CPPUNIT_TEST(testRemovePathSparesAReplacedFile);
    CPPUNIT_TEST(testStaleSocketIsReplaced);
    CPPUNIT_TEST(testLiveSocketIsInUse);
    CPPUNIT_TEST(testLiveSocketWithFullBacklogIsInUseWithoutHanging);
    CPPUNIT_TEST(testRegularFileIsNotASocket);
    CPPUNIT_TEST(testPathLongerThanSunPathFails);
    CPPUNIT_TEST(testCreateTcpOnAnyPort);
    CPPUNIT_TEST(testCreateTcpBadHostFails);
    CPPUNIT_TEST(testAdoptRefusesWhatIsNotListening);
    CPPUNIT_TEST(testAdoptNeverUnlinksNorShutsDown);
    CPPUNIT_TEST(testAdoptNeverChangesTheBlockingMode);
    CPPUNIT_TEST(testCreatedSocketsAreNonBlocking);
    CPPUNIT_TEST(testUnknownOwnerIsRefusedBeforeAnyFile);
    CPPUNIT_TEST(testOpenConsumesListenFdsEvenWithSocket);
    CPPUNIT_TEST(testPeerAllowedHonoursWebServerAddrs);
    CPPUNIT_TEST(testOpenWithoutAnySourceNamesTheFlags);
    CPPUNIT_TEST(testMoveAssignmentReleasesTheOldPath);
    CPPUNIT_TEST(testSuccessorOwnsTheHandedOverPathOnlyOnceItServes);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        dir_.reset(new TempDir());
        for (const char* name : kTouchedEnv) {
            const char* value = std::getenv(name);
            saved_env_.push_back(value != nullptr ? std::optional<std::string>(value) : std::nullopt);
        }
    }

    void tearDown() override {
        for (std::size_t i = 0; i < saved_env_.size(); ++i) {
            if (saved_env_[i]) setenv(kTouchedEnv[i], saved_env_[i]->c_str(), 1);
            else unsetenv(kTouchedEnv[i]);
        }
        for (int fd : fds_) ::close(fd);
        dir_.reset();
    }

    void testCreateUnixListensWithMode() {
        std::string path = dir_->file("l.sock");
        Listener l = Listener::create_unix(path, 0640, "", 16);
        struct stat st;
        CPPUNIT_ASSERT_EQUAL(0, stat(path.c_str(), &st));
        CPPUNIT_ASSERT(S_ISSOCK(st.st_mode));
        CPPUNIT_ASSERT_EQUAL(static_cast<mode_t>(0640), st.st_mode & 0777);
        CPPUNIT_ASSERT(connect_unix(path) >= 0);
        CPPUNIT_ASSERT(accepts_one(l.fd()));
        CPPUNIT_ASSERT_EQUAL("unix:" + path, l.description());
        CPPUNIT_ASSERT(!l.inherited());
        CPPUNIT_ASSERT(!l.is_tcp());
    }

    void testDestructorAndRemovePathUnlinkTheirOwnPath() {
        std::string path = dir_->file("l.sock");
        { Listener l = Listener::create_unix(path, 0660, "", 16); }
        CPPUNIT_ASSERT(!path_exists(path));

        Listener l = Listener::create_unix(path, 0660, "", 16);
        CPPUNIT_ASSERT(connect_unix(path) >= 0);
        l.remove_path();
        CPPUNIT_ASSERT(!path_exists(path));
        CPPUNIT_ASSERT_MESSAGE("a connection queued before remove_path stays acceptable", accepts_one(l.fd()));
    }

    void testRemovePathSparesAReplacedFile() {
        std::string path = dir_->file("l.sock");
        {
            Listener l = Listener::create_unix(path, 0660, "", 16);
            CPPUNIT_ASSERT_EQUAL(0, unlink(path.c_str()));
            std::ofstream(path) << "someone else's";
        }
        CPPUNIT_ASSERT_EQUAL(std::string("someone else's"), read_file(path));
    }

    void testStaleSocketIsReplaced() {
        std::string path = dir_->file("l.sock");
        ::close(socket_at(path));  // bound, closed, path left behind
        CPPUNIT_ASSERT(path_exists(path));
        Listener l = Listener::create_unix(path, 0660, "", 16);
        CPPUNIT_ASSERT(connect_unix(path) >= 0);
        CPPUNIT_ASSERT(accepts_one(l.fd()));
    }

    void testLiveSocketIsInUse() {
        std::string path = dir_->file("l.sock");
        int live = listening_unix(path);
        std::string message = listener_error([&] { Listener::create_unix(path, 0660, "", 16); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "in use"));
        CPPUNIT_ASSERT_MESSAGE("the live socket must still be reachable", connect_unix(path) >= 0);
        CPPUNIT_ASSERT(accepts_one(live));
    }

    // A holder with a full backlog is alive: "in use", at once. If create_unix blocks, the
    // test accepts on the holder's behalf after 10 s so the call can finish.
    void testLiveSocketWithFullBacklogIsInUseWithoutHanging() {
        std::string path = dir_->file("l.sock");
        int live = listening_unix(path, 0);
        int queued = 0;
        while (queued < 64 && connect_unix(path) >= 0) ++queued;
        CPPUNIT_ASSERT_MESSAGE("could not fill the backlog", queued < 64);
        std::future<std::string> outcome = std::async(std::launch::async, [path] {
            try {
                Listener::create_unix(path, 0660, "", 16);
                return std::string("created");
            } catch (const ListenerError& e) {
                return std::string(e.what());
            }
        });
        bool answered = outcome.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
        if (!answered) accepts_one(live);  // lets a blocked probe connect through
        std::string message = outcome.get();
        CPPUNIT_ASSERT_MESSAGE("create_unix blocked in its probe connect() on a full backlog", answered);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "in use"));
    }

    void testRegularFileIsNotASocket() {
        std::string path = dir_->file("l.sock");
        std::ofstream(path) << "keep";
        std::string message = listener_error([&] { Listener::create_unix(path, 0660, "", 16); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "not a socket"));
        CPPUNIT_ASSERT_EQUAL(std::string("keep"), read_file(path));
    }

    void testPathLongerThanSunPathFails() {
        std::string path = dir_->file(std::string(sizeof(sockaddr_un::sun_path), 'p'));
        listener_error([&] { Listener::create_unix(path, 0660, "", 16); });
        CPPUNIT_ASSERT(!path_exists(path));
    }

    void testCreateTcpOnAnyPort() {
        Listener l = Listener::create_tcp("127.0.0.1:0", 16);
        CPPUNIT_ASSERT(l.is_tcp());
        CPPUNIT_ASSERT(!l.inherited());
        sockaddr_in bound{};
        socklen_t len = sizeof bound;
        CPPUNIT_ASSERT_EQUAL(0, getsockname(l.fd(), reinterpret_cast<sockaddr*>(&bound), &len));
        CPPUNIT_ASSERT(bound.sin_port != 0);
        int client = keep(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        CPPUNIT_ASSERT_EQUAL(0, connect(client, reinterpret_cast<sockaddr*>(&bound), sizeof bound));
        CPPUNIT_ASSERT(accepts_one(l.fd()));
    }

    void testCreateTcpBadHostFails() {
        listener_error([] { Listener::create_tcp("not a host:80", 16); });
        listener_error([] { Listener::create_tcp("127.0.0.1:port", 16); });
    }

    void testAdoptRefusesWhatIsNotListening() {
        int pipe_ends[2];
        CPPUNIT_ASSERT_EQUAL(0, pipe2(pipe_ends, O_CLOEXEC));
        keep(pipe_ends[0]);
        keep(pipe_ends[1]);
        listener_error([&] { Listener::adopt(pipe_ends[0], "pipe"); });

        std::string path = dir_->file("l.sock");
        listening_unix(path);
        int connected = connect_unix(path);
        CPPUNIT_ASSERT(connected >= 0);
        std::string message = listener_error([&] { Listener::adopt(connected, "fd 7"); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "fd 7"));
    }

    void testAdoptNeverUnlinksNorShutsDown() {
        std::string path = dir_->file("held.sock");
        int held = listening_unix(path);
        {
            Listener l = Listener::adopt(dup(held), "fd 0");
            CPPUNIT_ASSERT(l.inherited());
            CPPUNIT_ASSERT(!l.is_tcp());
            CPPUNIT_ASSERT_EQUAL(std::string("fd 0 (inherited)"), l.description());
            l.remove_path();
        }
        CPPUNIT_ASSERT_MESSAGE("an inherited socket's path must never be unlinked", path_exists(path));
        CPPUNIT_ASSERT(connect_unix(path) >= 0);
        CPPUNIT_ASSERT_MESSAGE("the held socket must still accept", accepts_one(keep(dup(held))));
    }

    // O_NONBLOCK lives in the open file description the holder shares with us (and with
    // any other process it handed the socket to): never ours to set or restore.
    void testAdoptNeverChangesTheBlockingMode() {
        int blocking = listening_unix(dir_->file("b.sock"));
        {
            Listener l = Listener::adopt(dup(blocking), "fd 0");
            CPPUNIT_ASSERT_MESSAGE("adopt set O_NONBLOCK on a shared socket", !nonblocking(blocking));
        }
        CPPUNIT_ASSERT(!nonblocking(blocking));

        int already = listening_unix(dir_->file("n.sock"));
        CPPUNIT_ASSERT_EQUAL(0, fcntl(already, F_SETFL, fcntl(already, F_GETFL) | O_NONBLOCK));
        { Listener l = Listener::adopt(dup(already), "fd 0"); }
        CPPUNIT_ASSERT_MESSAGE("close cleared O_NONBLOCK on a shared socket", nonblocking(already));
    }

    void testCreatedSocketsAreNonBlocking() {
        Listener unix_listener = Listener::create_unix(dir_->file("l.sock"), 0660, "", 16);
        CPPUNIT_ASSERT(nonblocking(unix_listener.fd()));
        Listener tcp_listener = Listener::create_tcp("127.0.0.1:0", 16);
        CPPUNIT_ASSERT(nonblocking(tcp_listener.fd()));
    }

    void testUnknownOwnerIsRefusedBeforeAnyFile() {
        std::string path = dir_->file("l.sock");
        std::string message =
            listener_error([&] { Listener::create_unix(path, 0660, "no-such-user-fcgihost", 16); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--socket-owner"));
        CPPUNIT_ASSERT(entries_of(dir_->path()).empty());
    }

    // The fds stay ours (close-on-exec); the variables must not tell a child they are its own.
    void testOpenConsumesListenFdsEvenWithSocket() {
        CPPUNIT_ASSERT_EQUAL(0, setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1));
        CPPUNIT_ASSERT_EQUAL(0, setenv("LISTEN_FDS", "1", 1));
        CPPUNIT_ASSERT_EQUAL(0, setenv("LISTEN_FDNAMES", "fcgi", 1));
        ListenerOptions options;
        options.socket_path = dir_->file("l.sock");
        options.socket_mode = 0600;
        options.backlog = 16;
        Listener l = Listener::open(options);
        CPPUNIT_ASSERT_EQUAL("unix:" + options.socket_path, l.description());
        CPPUNIT_ASSERT(std::getenv("LISTEN_PID") == nullptr);
        CPPUNIT_ASSERT(std::getenv("LISTEN_FDS") == nullptr);
        CPPUNIT_ASSERT(std::getenv("LISTEN_FDNAMES") == nullptr);
    }

    // A reload's successor gets the socket as fd 3; a --socket path becomes its own to remove
    // only at own_path() (once it serves). One that fails before leaves it to the old process.
    void testSuccessorOwnsTheHandedOverPathOnlyOnceItServes() {
        ListenerOptions options;
        options.socket_path = dir_->file("h.sock");
        Listener original = Listener::create_unix(options.socket_path, 0600, "", 16);
        for (bool serves : {false, true}) {
            const int saved = dup(3);  // -1 if fd 3 is not open in this runner
            CPPUNIT_ASSERT_EQUAL(3, dup2(original.fd(), 3));
            CPPUNIT_ASSERT_EQUAL(0, setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1));
            CPPUNIT_ASSERT_EQUAL(0, setenv("LISTEN_FDS", "1", 1));
            {
                Listener successor = Listener::open_for_successor(options);
                if (serves) successor.own_path();
            }  // closes fd 3
            if (saved >= 0) {
                dup2(saved, 3);
                ::close(saved);
            }
            CPPUNIT_ASSERT_EQUAL_MESSAGE(serves ? "served" : "failed before serving", !serves,
                                         path_exists(options.socket_path));
        }
        original.keep_path();
    }

    void testPeerAllowedHonoursWebServerAddrs() {
        CPPUNIT_ASSERT_EQUAL(0, setenv("FCGI_WEB_SERVER_ADDRS", "10.1.2.3, 127.0.0.1", 1));
        Listener listed = Listener::create_tcp("127.0.0.1:0", 16);
        CPPUNIT_ASSERT_EQUAL(0, unsetenv("FCGI_WEB_SERVER_ADDRS"));  // the list was read at creation
        CPPUNIT_ASSERT(listed.peer_allowed(ipv4_peer("127.0.0.1")));
        CPPUNIT_ASSERT(listed.peer_allowed(ipv4_peer("10.1.2.3")));
        CPPUNIT_ASSERT(!listed.peer_allowed(ipv4_peer("10.9.9.9")));
        CPPUNIT_ASSERT(!listed.peer_allowed(ipv4_peer("127.0.0.10")));

        Listener open_to_all = Listener::create_tcp("127.0.0.1:0", 16);
        CPPUNIT_ASSERT(open_to_all.peer_allowed(ipv4_peer("127.0.0.1")));
        CPPUNIT_ASSERT(open_to_all.peer_allowed(ipv4_peer("10.9.9.9")));
    }

    void testOpenWithoutAnySourceNamesTheFlags() {
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        int listening = 0;
        socklen_t len = sizeof listening;
        if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening != 0) {
            std::cerr << "ListenerTest: fd 0 is a listening socket here; open() would adopt it, "
                         "so the no-source assertion is skipped\n";
            return;
        }
        std::string message = listener_error([] { Listener::open(ListenerOptions()); });
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--socket"));
    }

    // Overwriting a Listener ends the old one: its created path must go as in ~Listener().
    void testMoveAssignmentReleasesTheOldPath() {
        std::string first = dir_->file("a.sock");
        std::string second = dir_->file("b.sock");
        Listener l = Listener::create_unix(first, 0660, "", 16);
        l = Listener::create_unix(second, 0660, "", 16);
        CPPUNIT_ASSERT_EQUAL("unix:" + second, l.description());
        CPPUNIT_ASSERT_MESSAGE("move assignment left the old socket file behind", !path_exists(first));
    }

private:
    // The fd, closed in tearDown.
    int keep(int fd) {
        CPPUNIT_ASSERT_MESSAGE(std::strerror(errno), fd >= 0);
        fds_.push_back(fd);
        return fd;
    }

    // A unix socket bound at `path`, not yet listening; the caller owns it.
    int socket_at(const std::string& path) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CPPUNIT_ASSERT_MESSAGE(std::strerror(errno), fd >= 0);
        sockaddr_un addr = unix_address(path);
        CPPUNIT_ASSERT_EQUAL(0, bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
        return fd;
    }

    // A blocking listening socket at `path`, made the way a socket holder would.
    int listening_unix(const std::string& path, int backlog = 16) {
        int fd = keep(socket_at(path));
        CPPUNIT_ASSERT_EQUAL(0, listen(fd, backlog));
        return fd;
    }

    // A connected client, or -1 if connect() fails (O_NONBLOCK: it never waits).
    int connect_unix(const std::string& path) {
        int fd = keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        sockaddr_un addr = unix_address(path);
        return connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ? fd : -1;
    }

    std::unique_ptr<TempDir> dir_;
    std::vector<std::optional<std::string>> saved_env_;
    std::vector<int> fds_;  // test-owned fds, closed in tearDown
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ListenerTest, "unit");
