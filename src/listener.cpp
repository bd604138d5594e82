#include "fcgihost/listener.hpp"

#include "fcgihost/log.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace fcgihost {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

bool is_listening_socket(int fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening != 0;
}

bool socket_is_tcp(int fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
    return addr.ss_family == AF_INET || addr.ss_family == AF_INET6;
}

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        throw ListenerError("--socket " + path + ": path longer than " +
                            std::to_string(sizeof addr.sun_path - 1) + " bytes");
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

// A socket file left behind by a dead process may be replaced; a live one may not.
void clear_stale_socket(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return;
    if (!S_ISSOCK(st.st_mode)) throw ListenerError("--socket " + path + ": exists and is not a socket");
    // Non-blocking: a live socket with a full backlog would otherwise keep us waiting.
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0) throw ListenerError("socket(): " + errno_text(errno));
    sockaddr_un addr = unix_address(path);
    int rc = connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int err = errno;
    ::close(probe);
    if (rc == 0 || err == EAGAIN) {
        throw ListenerError("--socket " + path + ": in use by a running process");
    }
    // Only a refusal proves nobody listens; EACCES and the like prove nothing, and
    // removing a live socket's path would cut its server off from new clients.
    if (err != ECONNREFUSED) {
        throw ListenerError("--socket " + path + ": cannot tell whether it is in use: " + errno_text(err));
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        throw ListenerError("--socket " + path + ": cannot remove stale socket: " + errno_text(errno));
    }
    log_info("removed stale socket ", path);
}

void apply_owner(const std::string& path, const std::string& owner) {
    if (owner.empty()) return;
    std::string user = owner.substr(0, owner.find(':'));
    std::string group_name = owner.find(':') == std::string::npos ? "" : owner.substr(owner.find(':') + 1);
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    if (!user.empty()) {
        passwd* pw = getpwnam(user.c_str());
        if (pw == nullptr) throw ListenerError("--socket-owner " + owner + ": no such user");
        uid = pw->pw_uid;
    }
    if (!group_name.empty()) {
        struct group* gr = getgrnam(group_name.c_str());
        if (gr == nullptr) throw ListenerError("--socket-owner " + owner + ": no such group");
        gid = gr->gr_gid;
    }
    if (chown(path.c_str(), uid, gid) != 0) {
        throw ListenerError("--socket-owner " + owner + ": " + errno_text(errno));
    }
}

}  // namespace

Listener::Listener(Listener&& other) noexcept { *this = std::move(other); }

Listener& Listener::operator=(Listener&& other) noexcept {
    if (this != &other) {
        remove_path();
        close();
        fd_ = other.fd_;
        inherited_ = other.inherited_;
        tcp_ = other.tcp_;
        was_blocking_ = other.was_blocking_;
        path_ = std::move(other.path_);
        path_dev_ = other.path_dev_;
        path_ino_ = other.path_ino_;
        description_ = std::move(other.description_);
        allowed_peers_ = std::move(other.allowed_peers_);
        other.fd_ = -1;
        other.path_.clear();
    }
    return *this;
}

Listener::~Listener() {
    remove_path();
    close();
}

Listener Listener::open(const HostOptions& options) {
    if (!options.socket_path.empty()) {
        return create_unix(options.socket_path, options.socket_mode, options.socket_owner, options.backlog);
    }
    if (!options.listen.empty()) return create_tcp(options.listen, options.backlog);

    const char* listen_pid = std::getenv("LISTEN_PID");
    const char* listen_fds = std::getenv("LISTEN_FDS");
    if (listen_pid != nullptr && listen_fds != nullptr &&
        std::strtol(listen_pid, nullptr, 10) == static_cast<long>(getpid())) {
        long count = std::strtol(listen_fds, nullptr, 10);
        // systemd's convention: consume the variables so children do not take them too.
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        if (count >= 1) {
            if (count > 1) log_warn("LISTEN_FDS=", count, ": using fd 3 only");
            return adopt(3, "LISTEN_FDS fd 3");
        }
    }
    if (is_listening_socket(0)) return adopt(0, "fd 0");
    throw ListenerError("no listening socket: give --socket PATH or --listen HOST:PORT, "
                        "or start under systemd, spawn-fcgi or mod_fcgid");
}

Listener Listener::create_unix(const std::string& path, mode_t mode, const std::string& owner, int backlog) {
    sockaddr_un addr = unix_address(path);
    clear_stale_socket(path);
    Listener l;
    l.fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l.fd_ < 0) throw ListenerError("socket(): " + errno_text(errno));
    if (bind(l.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        throw ListenerError("--socket " + path + ": bind: " + errno_text(errno));
    }
    l.path_ = path;  // from here on the destructor removes it
    struct stat st;
    if (stat(path.c_str(), &st) == 0) {
        l.path_dev_ = st.st_dev;
        l.path_ino_ = st.st_ino;
    }
    if (chmod(path.c_str(), mode) != 0) {
        throw ListenerError("--socket-mode: chmod " + path + ": " + errno_text(errno));
    }
    apply_owner(path, owner);
    if (listen(l.fd_, backlog) != 0) throw ListenerError("--socket " + path + ": listen: " + errno_text(errno));
    l.description_ = "unix:" + path;
    l.make_nonblocking();
    return l;
}

Listener Listener::create_tcp(const std::string& host_port, int backlog) {
    std::size_t colon = host_port.rfind(':');
    std::string host = host_port.substr(0, colon);
    std::string port = host_port.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) throw ListenerError("--listen " + host_port + ": " + gai_strerror(rc));
    Listener l;
    std::string last_error = "no address";
    for (addrinfo* ai = found; ai != nullptr && l.fd_ < 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0) {
            l.fd_ = fd;
        } else {
            last_error = errno_text(errno);
            ::close(fd);
        }
    }
    freeaddrinfo(found);
    if (l.fd_ < 0) throw ListenerError("--listen " + host_port + ": " + last_error);
    l.tcp_ = true;
    l.description_ = "tcp:" + host_port;
    const char* allowed = std::getenv("FCGI_WEB_SERVER_ADDRS");
    l.allowed_peers_ = allowed != nullptr ? allowed : "";
    l.make_nonblocking();
    return l;
}

Listener Listener::adopt(int fd, const std::string& origin) {
    if (!is_listening_socket(fd)) throw ListenerError(origin + " is not a listening socket");
    Listener l;
    l.fd_ = fd;
    l.inherited_ = true;
    l.tcp_ = socket_is_tcp(fd);
    l.description_ = origin + " (inherited)";
    const char* allowed = std::getenv("FCGI_WEB_SERVER_ADDRS");
    l.allowed_peers_ = allowed != nullptr ? allowed : "";
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    l.make_nonblocking();
    return l;
}

void Listener::make_nonblocking() {
    int flags = fcntl(fd_, F_GETFL);
    was_blocking_ = (flags & O_NONBLOCK) == 0;
    fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
}

void Listener::remove_path() {
    if (path_.empty()) return;
    struct stat st;
    if (stat(path_.c_str(), &st) == 0 && st.st_dev == path_dev_ && st.st_ino == path_ino_) {
        unlink(path_.c_str());
    }
    path_.clear();
}

void Listener::close() {
    if (fd_ < 0) return;
    if (inherited_ && was_blocking_) {
        fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
    }
    ::close(fd_);
    fd_ = -1;
}

bool Listener::peer_allowed(const sockaddr_storage& peer) const {
    if (allowed_peers_.empty()) return true;
    char text[INET6_ADDRSTRLEN] = "";
    if (peer.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, text, sizeof text);
    } else if (peer.ss_family == AF_INET6) {
        const in6_addr& addr = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&addr)) {
            // An IPv4 client of a dual-stack listener: compare it as the IPv4 it is.
            inet_ntop(AF_INET, &addr.s6_addr[12], text, sizeof text);
        } else {
            inet_ntop(AF_INET6, &addr, text, sizeof text);
        }
    } else {
        return true;
    }
    std::stringstream list(allowed_peers_);
    std::string entry;
    while (std::getline(list, entry, ',')) {
        std::size_t first = entry.find_first_not_of(" \t");
        std::size_t last = entry.find_last_not_of(" \t");
        if (first != std::string::npos && entry.substr(first, last - first + 1) == text) return true;
    }
    return false;
}

}  // namespace fcgihost
