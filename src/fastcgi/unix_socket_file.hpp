// The file of a unix socket this process creates (--socket): made listening under a
// temporary name, then link()ed into place, so that two processes started at once cannot
// take each other's socket and nothing ever follows a symlink found at the path.
#pragma once

#include "fastcgi/socket_owner.hpp"

#include <sys/types.h>

#include <string>

namespace fcgihost {

struct UnixSocketFile {
    int fd = -1;     // listening, non-blocking, close-on-exec
    dev_t dev = 0;   // identity of the file now at the path
    ino_t ino = 0;
};

// Binds a socket under a unique temporary name in the directory of `path` with exactly
// the permission bits of `mode` (through the umask, so no chmod by path), gives the file to
// `owner` without following symlinks, listens, then links it to `path`. link() never
// replaces: a file already there is probed, and only a stale socket is removed (once):
//  - a connect() is accepted, or the backlog is full: "in use by a running process";
//  - refused, but /proc/net/unix lists a socket bound to that name: "bound by a process
//    that does not accept on it", left alone (it may be listening a moment later);
//  - refused, and nobody is bound to it (or /proc/net/unix cannot be read): stale;
//  - not a socket (a symlink included: never followed): "exists and is not a socket".
// Throws ListenerError with one line naming --socket and the path; no file of ours is left
// behind then. Changes the process umask for the duration of bind(): call it while no other
// thread creates files.
UnixSocketFile create_unix_socket_file(const std::string& path, mode_t mode, const SocketOwner& owner, int backlog);

// One line for the log: "socket PATH: mode 0660, owner USER:GROUP".
std::string describe_socket_file(const std::string& path);

}  // namespace fcgihost
