// Tests for src/fastcgi/unix_socket_file.hpp: which file at the path is stale, symlinks never
// followed, no temporary name left behind, a missing directory named, the mode exact.
#include "fastcgi/unix_socket_file.hpp"

#include "fastcgi/listener.hpp"
#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

using namespace fcgihost;
using namespace fcgihost::testing_support;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    return addr;
}

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

// The ListenerError message of a create_unix_socket_file call that must fail.
std::string creation_error(const std::string& path, mode_t mode, const SocketOwner& owner = SocketOwner()) {
    try {
        UnixSocketFile file = create_unix_socket_file(path, mode, owner, 16);
        ::close(file.fd);
    } catch (const ListenerError& e) {
        return e.what();
    }
    CPPUNIT_FAIL("no ListenerError thrown for " + path);
    return std::string();
}

}  // namespace

class UnixSocketFileTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(UnixSocketFileTest);
    CPPUNIT_TEST(bound_but_not_listening_socket_is_in_use_and_kept);
    CPPUNIT_TEST(symlink_at_the_path_is_never_followed);
    CPPUNIT_TEST(no_temporary_name_is_left_behind);
    CPPUNIT_TEST(missing_directory_is_named);
    CPPUNIT_TEST(mode_is_exact_whatever_the_umask);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { dir_.reset(new TempDir()); }

    void tearDown() override {
        for (int fd : fds_) ::close(fd);
        fds_.clear();
        dir_.reset();
    }

    // A process between bind() and listen() is refused like a dead one, but it is starting
    // (two instances started at once): its socket file must survive. A stale file is one
    // that refuses and that no socket is bound to.
    void bound_but_not_listening_socket_is_in_use_and_kept() {
        std::string path = dir_->file("l.sock");
        int starting = bound_at(path);
        struct stat before;
        CPPUNIT_ASSERT_EQUAL(0, lstat(path.c_str(), &before));
        std::string message = creation_error(path, 0660);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "in use"));
        struct stat after;
        CPPUNIT_ASSERT_MESSAGE("the starting process's socket file was deleted", lstat(path.c_str(), &after) == 0);
        CPPUNIT_ASSERT(before.st_ino == after.st_ino);
        CPPUNIT_ASSERT_EQUAL(0, listen(starting, 4));
        CPPUNIT_ASSERT_MESSAGE("the starting process must be reachable at its path", connects(path));

        ::close(starting);  // now it is stale: refused, and nobody is bound to it
        fds_.erase(std::find(fds_.begin(), fds_.end(), starting));
        UnixSocketFile replaced = create_unix_socket_file(path, 0660, SocketOwner(), 16);
        keep(replaced.fd);
        CPPUNIT_ASSERT(connects(path));
    }

    // chmod and chown by name follow symlinks; nothing here may act on the target.
    void symlink_at_the_path_is_never_followed() {
        std::string target = dir_->file("target");
        std::ofstream(target) << "keep";
        CPPUNIT_ASSERT_EQUAL(0, chmod(target.c_str(), 0600));
        std::string path = dir_->file("l.sock");
        CPPUNIT_ASSERT_EQUAL(0, symlink(target.c_str(), path.c_str()));
        SocketOwner me;
        me.uid = getuid();
        me.gid = getgid();
        std::string message = creation_error(path, 0666, me);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "not a socket"));
        struct stat st;
        CPPUNIT_ASSERT_EQUAL(0, stat(target.c_str(), &st));
        CPPUNIT_ASSERT_EQUAL(static_cast<mode_t>(0600), st.st_mode & 0777);
        CPPUNIT_ASSERT_EQUAL(0, lstat(path.c_str(), &st));
        CPPUNIT_ASSERT_MESSAGE("the symlink was replaced", S_ISLNK(st.st_mode));
        CPPUNIT_ASSERT_EQUAL(std::string("keep"), read_file(target));
        CPPUNIT_ASSERT_EQUAL(std::string("l.sock,target"), entries_of(dir_->path()));
    }

    void no_temporary_name_is_left_behind() {
        std::string path = dir_->file("l.sock");
        UnixSocketFile file = create_unix_socket_file(path, 0660, SocketOwner(), 16);
        keep(file.fd);
        CPPUNIT_ASSERT_EQUAL(std::string("l.sock"), entries_of(dir_->path()));
        struct stat st;
        CPPUNIT_ASSERT_EQUAL(0, lstat(path.c_str(), &st));
        CPPUNIT_ASSERT(st.st_ino == file.ino && st.st_dev == file.dev);
        CPPUNIT_ASSERT_EQUAL(nlink_t(1), st.st_nlink);
        creation_error(path, 0660);  // in use
        CPPUNIT_ASSERT_EQUAL(std::string("l.sock"), entries_of(dir_->path()));
    }

    void missing_directory_is_named() {
        std::string missing = dir_->file("nowhere");
        std::string message = creation_error(missing + "/l.sock", 0660);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "directory " + missing + " does not exist"));
    }

    // The mode is given at bind() through the umask, which must be the process's again after.
    void mode_is_exact_whatever_the_umask() {
        const mode_t saved = umask(0077);
        std::string path = dir_->file("l.sock");
        UnixSocketFile file = create_unix_socket_file(path, 0666, SocketOwner(), 16);
        keep(file.fd);
        const mode_t after = umask(saved);
        CPPUNIT_ASSERT_EQUAL(static_cast<mode_t>(0077), after);
        struct stat st;
        CPPUNIT_ASSERT_EQUAL(0, lstat(path.c_str(), &st));
        CPPUNIT_ASSERT_EQUAL(static_cast<mode_t>(0666), st.st_mode & 0777);
    }

private:
    int keep(int fd) {
        CPPUNIT_ASSERT_MESSAGE(std::strerror(errno), fd >= 0);
        fds_.push_back(fd);
        return fd;
    }

    // A unix socket bound at `path`, not listening.
    int bound_at(const std::string& path) {
        int fd = keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr = unix_address(path);
        CPPUNIT_ASSERT_EQUAL(0, bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
        return fd;
    }

    bool connects(const std::string& path) {
        int fd = keep(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        sockaddr_un addr = unix_address(path);
        return connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }

    std::unique_ptr<TempDir> dir_;
    std::vector<int> fds_;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(UnixSocketFileTest, "unit");
