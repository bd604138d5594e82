// Listener: the listening socket, wherever it comes from (docs/contract.md#listening-socket).
//
// Created sockets (--socket, --listen) belong to this process: they are created
// non-blocking, and a unix socket's path is removed as soon as the stop begins, so new
// connects fail fast instead of queueing for a process that will never accept them.
// Inherited sockets (fd 0 from spawn-fcgi or mod_fcgid, LISTEN_FDS from systemd) belong
// to whoever handed them over, and their open file description (O_NONBLOCK included) is
// shared with every other process that holds them: they are never unlinked, never shut
// down and never have their file status flags changed, only closed, so the holder can pass
// them to the next process with the backlog intact. The acceptor (src/fastcgi/acceptor.hpp) copes
// with one that is blocking.
//
// A unix socket is bound and made listening under a temporary name in the same directory,
// given its mode (at bind time) and owner there, then link()ed to the final path, which
// therefore never names a socket that is bound but not listening yet. A file already at the
// path is replaced only when it is a stale socket: a connect() to it is refused and no
// socket on this host is bound to that name (/proc/net/unix). A symlink is never followed.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <stdexcept>
#include <string>

namespace fcgihost {

struct ListenerError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Where to listen, as the host's flags say (--socket, --socket-mode, --socket-owner,
// --listen, --backlog); the host fills it. No default here: the host's flags hold them.
struct ListenerOptions {
    std::string socket_path;  // "" = not a created unix socket
    mode_t socket_mode = 0;
    std::string socket_owner; // "user", "user:group", ":group" or ""
    std::string listen;       // "HOST:PORT", "" = no TCP
    int backlog = 0;
    bool allow_any_peer = false;  // --allow-any-peer (listen_policy.hpp)
};

class Listener {
public:
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    Listener(Listener&& other) noexcept;
    Listener& operator=(Listener&& other) noexcept;
    ~Listener();  // close(), and removes a created unix socket's path if it is still ours

    // --socket, else --listen, else LISTEN_FDS, else fd 0 if it is a listening socket.
    // LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are always removed from the environment, and
    // every fd systemd passed gets FD_CLOEXEC, so children never take them for their own.
    // Throws ListenerError with a one-line reason (path in use, bind failed, none found).
    static Listener open(const ListenerOptions& options);

    // `owner` is "user", "user:group" or ":group" (see parse_socket_owner). Only the
    // permission bits (0777) of `mode` apply. Nothing is left behind on failure.
    static Listener create_unix(const std::string& path, mode_t mode, const std::string& owner, int backlog);
    static Listener create_tcp(const std::string& host_port, int backlog);
    // Takes over an inherited listening socket. Throws if fd is not one; the fd is then
    // left open and still the caller's.
    static Listener adopt(int fd, const std::string& origin);
    // A successor started by a reload: takes fd 3 from LISTEN_FDS whatever --socket or
    // --listen say (their socket is the one handed over). A --socket path becomes this
    // process's own (removed at its final stop, not at a reload) only at own_path(), once it
    // serves: a successor that fails before that leaves the path to its predecessor.
    static Listener open_for_successor(const ListenerOptions& options);
    void own_path() { path_owned_ = true; }
    // Another process now serves this socket: its path is no longer this process's to remove.
    void keep_path() { path_.clear(); }

    int fd() const { return fd_; }
    bool inherited() const { return inherited_; }
    bool is_tcp() const { return tcp_; }
    const std::string& description() const { return description_; }

    // Unlinks a created unix socket's path (no effect on any other kind, or if the path
    // now names another file). Connections already queued stay acceptable. Not thread-safe:
    // one caller at a time.
    void remove_path();
    // Closes the fd; never shutdown(), never a change of the socket's flags.
    void close();

    // FCGI_WEB_SERVER_ADDRS: TCP peers not in the comma-separated list are refused. An
    // empty or missing list allows every peer; unix peers are always allowed.
    bool peer_allowed(const sockaddr_storage& peer) const;

private:
    Listener() = default;

    int fd_ = -1;
    bool inherited_ = false;
    bool tcp_ = false;
    std::string path_;             // created unix socket's path, "" otherwise
    dev_t path_dev_ = 0;           // identity of the socket file we created,
    ino_t path_ino_ = 0;           // so we never unlink someone else's
    bool path_owned_ = true;       // false in a successor until it serves
    std::string description_;
    std::string allowed_peers_;    // FCGI_WEB_SERVER_ADDRS at open time
};

}  // namespace fcgihost
