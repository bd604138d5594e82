#include "process/systemd_notify.hpp"

#include "fcgihost/log.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace fcgihost {

SystemdNotifier::SystemdNotifier() {
    const char* socket_name = std::getenv("NOTIFY_SOCKET");
    if (socket_name == nullptr || socket_name[0] == '\0') return;
    address_ = socket_name;
    unsetenv("NOTIFY_SOCKET");
    if (address_[0] == '@') address_[0] = '\0';
    if (address_.size() >= sizeof(sockaddr_un::sun_path) || (address_[0] != '/' && address_[0] != '\0')) {
        log_warn("NOTIFY_SOCKET is not a unix socket path; not notifying systemd");
        return;
    }
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

SystemdNotifier::~SystemdNotifier() {
    if (fd_ >= 0) close(fd_);
}

bool SystemdNotifier::notify(const std::string& state) const {
    if (fd_ < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, address_.data(), address_.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
    ssize_t sent;
    do {  // a full queue at systemd's end blocks, and a signal handler may cut that short
        sent = sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
    } while (sent < 0 && errno == EINTR);
    return sent == static_cast<ssize_t>(state.size());
}

}  // namespace fcgihost
