// The owner of a socket file (--socket-owner), resolved from names or numeric ids.
#pragma once

#include <sys/types.h>

#include <string>

namespace fcgihost {

// --socket-owner: "user", "user:group" or ":group"; names or numeric ids. An id left
// out is -1 (unchanged). Resolved while the flags are parsed, so an unknown name stops
// the start before any socket exists.
struct SocketOwner {
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
};
SocketOwner parse_socket_owner(const std::string& text);

}  // namespace fcgihost
