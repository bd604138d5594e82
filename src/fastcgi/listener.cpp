#include "fastcgi/listener.hpp"

#include "fcgihost/log.hpp"
#include "fastcgi/socket_owner.hpp"
#include "fastcgi/unix_socket_file.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

// systemd's convention (sd_listen_fds with unset_environment): the variables are consumed
// so that children do not take the fds for theirs, and every passed fd is close-on-exec.
// Returns how many fds were passed to this process (0 if the variables name another).
long consume_listen_fds() {
    const char* listen_pid = std::getenv("LISTEN_PID");
    const char* listen_fds = std::getenv("LISTEN_FDS");
    long count = 0;
    if (listen_pid != nullptr && listen_fds != nullptr &&
        std::strtol(listen_pid, nullptr, 10) == static_cast<long>(getpid())) {
        // A bogus count must not make us walk fds that cannot exist.
        count = std::min(std::max(0L, std::strtol(listen_fds, nullptr, 10)), sysconf(_SC_OPEN_MAX));
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    for (long i = 0; i < count; ++i) fcntl(static_cast<int>(3 + i), F_SETFD, FD_CLOEXEC);
    return count;
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
        path_ = std::move(other.path_);
        path_dev_ = other.path_dev_;
        path_ino_ = other.path_ino_;
        path_owned_ = other.path_owned_;
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

Listener Listener::open(const ListenerOptions& options) {
    const long passed = consume_listen_fds();
    if (!options.socket_path.empty() || !options.listen.empty()) {
        if (passed > 0) log_warn("LISTEN_FDS=", passed, ": ignored, ", options.listen.empty() ? "--socket" : "--listen",
                                 " is given");
        if (!options.socket_path.empty()) {
            Listener created =
                create_unix(options.socket_path, options.socket_mode, options.socket_owner, options.backlog);
            // Where a "connect() ... Permission denied" in nginx's error log is explained.
            log_info(describe_socket_file(options.socket_path));
            return created;
        }
        return create_tcp(options.listen, options.backlog);
    }
    if (passed >= 1) {
        if (passed > 1) log_warn("LISTEN_FDS=", passed, ": using fd 3 only");
        return adopt(3, "LISTEN_FDS fd 3");
    }
    if (is_listening_socket(0)) return adopt(0, "fd 0");
    throw ListenerError("no listening socket: give --socket PATH or --listen HOST:PORT, "
                        "or start under systemd, spawn-fcgi or mod_fcgid");
}

Listener Listener::open_for_successor(const ListenerOptions& options) {
    if (consume_listen_fds() < 1) throw ListenerError("reload: no listening socket handed over (LISTEN_FDS)");
    Listener l = adopt(3, "LISTEN_FDS fd 3");
    // A socket made by --socket or --listen is still non-blocking and belongs to whichever
    // process serves it: at the final stop its backlog is served, as its creator's would be.
    if (!options.socket_path.empty() || !options.listen.empty()) l.inherited_ = false;
    struct stat st;
    if (!options.socket_path.empty() && lstat(options.socket_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        l.path_ = options.socket_path;
        l.path_dev_ = st.st_dev;
        l.path_ino_ = st.st_ino;
        l.path_owned_ = false;
    }
    l.description_ = "LISTEN_FDS fd 3 (handed over by a reload" +
                     (options.socket_path.empty() ? std::string(")") : "; unix:" + options.socket_path + ")");
    return l;
}

Listener Listener::create_unix(const std::string& path, mode_t mode, const std::string& owner, int backlog) {
    SocketOwner resolved;
    try {
        if (!owner.empty()) resolved = parse_socket_owner(owner);
    } catch (const std::invalid_argument& e) {
        throw ListenerError("--socket-owner " + owner + ": " + e.what());
    }
    UnixSocketFile file = create_unix_socket_file(path, mode, resolved, backlog);
    Listener l;
    l.fd_ = file.fd;
    l.path_ = path;
    l.path_dev_ = file.dev;
    l.path_ino_ = file.ino;
    l.description_ = "unix:" + path;
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
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
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
    // FD_CLOEXEC is a flag of this fd alone; O_NONBLOCK would be the holder's too.
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return l;
}

void Listener::remove_path() {
    if (path_.empty() || !path_owned_) return;
    struct stat st;
    if (stat(path_.c_str(), &st) == 0 && st.st_dev == path_dev_ && st.st_ino == path_ino_) {
        unlink(path_.c_str());
    }
    path_.clear();
}

void Listener::close() {
    if (fd_ < 0) return;
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
