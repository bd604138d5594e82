#include "fastcgi/unix_socket_file.hpp"

#include "fastcgi/listener.hpp"
#include "fcgihost/log.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace fcgihost {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

std::string directory_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

sockaddr_un unix_address(const std::string& path, const std::string& shown) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        throw ListenerError("--socket " + shown + ": path longer than " + std::to_string(sizeof addr.sun_path - 1) +
                            " bytes" + (path == shown ? "" : " (with the temporary name " + path + ")"));
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

// Unique among processes (pid) and among calls in this one (counter, clock).
std::string temporary_name(const std::string& path) {
    static std::atomic<unsigned> calls{0};
    const auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
    char name[64];
    std::snprintf(name, sizeof name, "/.fcgihost-%x-%x%03x", static_cast<unsigned>(getpid()), calls++,
                  static_cast<unsigned>(ticks) & 0xfff);
    return directory_of(path) + name;
}

std::string absolute(const std::string& path) {
    if (!path.empty() && path[0] == '/') return path;
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == nullptr) return path;
    return std::string(cwd) + "/" + path;
}

enum class Bound { yes, no, unknown };

// Whether a socket on this host (this network namespace) is bound to `path`, as
// /proc/net/unix shows the name it was bound with.
Bound someone_bound_to(const std::string& path) {
    std::ifstream table("/proc/net/unix");
    if (!table) return Bound::unknown;
    const std::string wanted = absolute(path);
    std::string line;
    std::getline(table, line);  // header
    while (std::getline(table, line)) {
        // Num RefCount Protocol Flags Type St Inode Path: the name is what follows 7 fields.
        std::istringstream fields(line);
        std::string skipped;
        for (int field = 0; field < 7; ++field) fields >> skipped;
        std::string name;
        std::getline(fields >> std::ws, name);
        if (!name.empty() && (name == path || absolute(name) == wanted)) return Bound::yes;
    }
    return Bound::no;
}

// Leaves the path free, or throws: see create_unix_socket_file for which file is stale.
void remove_if_stale(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return;
        throw ListenerError("--socket " + path + ": " + errno_text(errno));
    }
    if (!S_ISSOCK(st.st_mode)) {
        throw ListenerError("--socket " + path + ": exists and is not a socket" +
                            (S_ISLNK(st.st_mode) ? " (a symlink, never followed)" : ""));
    }
    // Non-blocking: a live socket with a full backlog would otherwise keep us waiting.
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0) throw ListenerError("socket(): " + errno_text(errno));
    sockaddr_un addr = unix_address(path, path);
    const int rc = connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    const int err = errno;
    ::close(probe);
    if (rc == 0 || err == EAGAIN) throw ListenerError("--socket " + path + ": in use by a running process");
    // Only a refusal proves nobody listens; EACCES and the like prove nothing, and
    // removing a live socket's path would cut its server off from new clients.
    if (err != ECONNREFUSED) {
        throw ListenerError("--socket " + path + ": cannot tell whether it is in use: " + errno_text(err));
    }
    // A process that has bound but not yet listened is refused too: it is starting.
    if (someone_bound_to(path) == Bound::yes) {
        throw ListenerError("--socket " + path + ": in use: bound by a process that does not accept on it (yet)");
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        throw ListenerError("--socket " + path + ": cannot remove stale socket: " + errno_text(errno));
    }
    log_info("removed stale socket ", path);
}

// Closes the socket and unlinks the temporary name unless released: every failure path
// leaves nothing behind.
class PendingSocket {
public:
    PendingSocket(const PendingSocket&) = delete;
    PendingSocket& operator=(const PendingSocket&) = delete;
    PendingSocket(int fd, std::string temporary) : fd_(fd), temporary_(std::move(temporary)) {}
    ~PendingSocket() {
        if (named_) unlink(temporary_.c_str());
        if (fd_ >= 0) ::close(fd_);
    }
    int fd() const { return fd_; }
    void set_named() { named_ = true; }
    int release() {
        if (named_) unlink(temporary_.c_str());
        named_ = false;
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_;
    std::string temporary_;
    bool named_ = false;  // the temporary name exists and is ours to unlink
};

}  // namespace

UnixSocketFile create_unix_socket_file(const std::string& path, mode_t mode, const SocketOwner& owner, int backlog) {
    unix_address(path, path);
    const std::string directory = directory_of(path);
    const std::string temporary = temporary_name(path);
    sockaddr_un addr = unix_address(temporary, path);

    PendingSocket pending(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), temporary);
    if (pending.fd() < 0) throw ListenerError("socket(): " + errno_text(errno));
    // bind() creates the file with 0777 & ~umask: the mode is right from the first moment,
    // and no chmod by name can be sent through a symlink swapped in afterwards.
    int bound;
    int bind_error;
    {
        // Two of these at once would otherwise leave the process with a wrong umask.
        static std::mutex umask_mutex;
        std::lock_guard<std::mutex> lock(umask_mutex);
        const mode_t saved_umask = umask(0777 & ~mode);
        bound = bind(pending.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        bind_error = errno;
        umask(saved_umask);
    }
    if (bound != 0) {
        struct stat dir_st;
        if (bind_error == ENOENT || (stat(directory.c_str(), &dir_st) == 0 && !S_ISDIR(dir_st.st_mode))) {
            throw ListenerError("--socket " + path + ": directory " + directory + " does not exist");
        }
        throw ListenerError("--socket " + path + ": bind in " + directory + ": " + errno_text(bind_error));
    }
    pending.set_named();
    struct stat st;
    if (lstat(temporary.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
        throw ListenerError("--socket " + path + ": temporary socket " + temporary + " was replaced");
    }
    if ((owner.uid != static_cast<uid_t>(-1) || owner.gid != static_cast<gid_t>(-1)) &&
        fchownat(AT_FDCWD, temporary.c_str(), owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) != 0) {
        throw ListenerError("--socket-owner: chown " + path + ": " + errno_text(errno));
    }
    if (listen(pending.fd(), backlog) != 0) throw ListenerError("--socket " + path + ": listen: " + errno_text(errno));

    if (link(temporary.c_str(), path.c_str()) != 0) {
        if (errno != EEXIST) throw ListenerError("--socket " + path + ": link: " + errno_text(errno));
        remove_if_stale(path);
        // A second EEXIST means another process took the path meanwhile: it is in use.
        if (link(temporary.c_str(), path.c_str()) != 0) {
            throw ListenerError("--socket " + path + ": " +
                                (errno == EEXIST ? std::string("in use by a process started at the same time")
                                                 : "link: " + errno_text(errno)));
        }
    }
    UnixSocketFile file;
    file.dev = st.st_dev;
    file.ino = st.st_ino;
    file.fd = pending.release();
    return file;
}

std::string describe_socket_file(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return "socket " + path + ": " + errno_text(errno);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    const passwd* pw = getpwuid(st.st_uid);
    const struct group* gr = getgrgid(st.st_gid);
    return "socket " + path + ": mode " + mode + ", owner " +
           (pw != nullptr ? std::string(pw->pw_name) : std::to_string(st.st_uid)) + ":" +
           (gr != nullptr ? std::string(gr->gr_name) : std::to_string(st.st_gid));
}

}  // namespace fcgihost
