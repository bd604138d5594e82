// Listener: the listening socket, wherever it comes from (docs/contract.md#listening-socket).
//
// Created sockets (--socket, --listen) belong to this process: a unix socket's path is
// removed when the process stops taking requests, so new connects fail fast instead of
// queueing for a process that will never accept them. Inherited sockets (fd 0 from
// spawn-fcgi or mod_fcgid, LISTEN_FDS from systemd) belong to whoever handed them over:
// they are never unlinked and never shut down, only closed, so the holder can pass them
// to the next process with the backlog intact.
#pragma once

#include "fcgihost/options.hpp"

#include <sys/socket.h>

#include <stdexcept>
#include <string>

namespace fcgihost {

struct ListenerError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Listener {
public:
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
    Listener(Listener&& other) noexcept;
    Listener& operator=(Listener&& other) noexcept;
    ~Listener();  // close(), and removes a created unix socket's path if it is still ours

    // --socket, else --listen, else LISTEN_FDS, else fd 0 if it is a listening socket.
    // Throws ListenerError with a one-line reason (path in use, bind failed, none found).
    static Listener open(const HostOptions& options);

    static Listener create_unix(const std::string& path, mode_t mode, const std::string& owner, int backlog);
    static Listener create_tcp(const std::string& host_port, int backlog);
    // Takes over an inherited listening socket. Throws if fd is not one; the fd is then
    // left open and still the caller's.
    static Listener adopt(int fd, const std::string& origin);

    int fd() const { return fd_; }
    bool inherited() const { return inherited_; }
    bool is_tcp() const { return tcp_; }
    const std::string& description() const { return description_; }

    // Unlinks a created unix socket's path (no effect on any other kind, or if the path
    // now names another file). Connections already queued stay acceptable.
    void remove_path();
    // Closes the fd; never shutdown(). An inherited socket gets its original blocking
    // mode back first, since the mode is shared with whoever holds it.
    void close();

    // FCGI_WEB_SERVER_ADDRS: TCP peers not in the comma-separated list are refused. An
    // empty or missing list allows every peer; unix peers are always allowed.
    bool peer_allowed(const sockaddr_storage& peer) const;

private:
    Listener() = default;
    void make_nonblocking();

    int fd_ = -1;
    bool inherited_ = false;
    bool tcp_ = false;
    bool was_blocking_ = false;    // fd's O_NONBLOCK before we set it
    std::string path_;             // created unix socket's path, "" otherwise
    dev_t path_dev_ = 0;           // identity of the socket file we created,
    ino_t path_ino_ = 0;           // so we never unlink someone else's
    std::string description_;
    std::string allowed_peers_;    // FCGI_WEB_SERVER_ADDRS at open time
};

}  // namespace fcgihost
