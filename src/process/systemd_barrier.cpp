// sd_notify_barrier's protocol: "BARRIER=1" with the write end of a pipe attached
// (SCM_RIGHTS); systemd closes its copy once it has processed every message sent before.
// Our copy is closed right after the send, so POLLHUP on the read end means "processed".
#include "process/systemd_notify.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace fcgihost {

std::string SystemdNotifier::address_for_environment() const {
    if (fd_ < 0) return "";
    std::string a = address_;
    if (!a.empty() && a[0] == '\0') a[0] = '@';
    return a;
}

bool SystemdNotifier::barrier(std::chrono::milliseconds limit) const {
    if (fd_ < 0) return false;
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, address_.data(), address_.size());
    static const char kMessage[] = "BARRIER=1";
    iovec iov{const_cast<char*>(kMessage), sizeof kMessage - 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_name = &addr;
    msg.msg_namelen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &ends[1], sizeof(int));
    ssize_t sent;
    do sent = sendmsg(fd_, &msg, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    close(ends[1]);
    bool processed = false;
    if (sent == static_cast<ssize_t>(sizeof kMessage - 1)) {
        pollfd p{ends[0], 0, 0};
        int n;
        do n = poll(&p, 1, static_cast<int>(limit.count()));
        while (n < 0 && errno == EINTR);
        processed = n == 1 && (p.revents & POLLHUP) != 0;
    }
    close(ends[0]);
    return processed;
}

}  // namespace fcgihost
