#include "fastcgi/listen_policy.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>

namespace fcgihost {
namespace {

bool is_loopback(const sockaddr* address) {
    if (address->sa_family == AF_INET) {
        const in_addr& a = reinterpret_cast<const sockaddr_in*>(address)->sin_addr;
        return (ntohl(a.s_addr) >> 24) == 127;
    }
    if (address->sa_family == AF_INET6) {
        const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
        return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
    }
    return false;
}

bool lists_an_address(const char* web_server_addrs) {
    return web_server_addrs != nullptr && std::strspn(web_server_addrs, ", \t") != std::strlen(web_server_addrs);
}

enum class HostKind { loopback, reachable_from_elsewhere, unresolved };

HostKind host_kind(std::string host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) return HostKind::unresolved;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) return HostKind::unresolved;
    HostKind kind = HostKind::loopback;
    for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        if (!is_loopback(ai->ai_addr)) kind = HostKind::reachable_from_elsewhere;
    }
    freeaddrinfo(found);
    return kind;
}

}  // namespace

bool is_loopback_host(const std::string& host) { return host_kind(host) == HostKind::loopback; }

std::string listen_policy_refusal(const ListenerOptions& options, const char* web_server_addrs) {
    if (options.listen.empty() || options.allow_any_peer || lists_an_address(web_server_addrs)) return std::string();
    const std::string host = options.listen.substr(0, options.listen.rfind(':'));
    // A name that does not resolve cannot be bound either: the listener says so.
    if (host_kind(host) != HostKind::reachable_from_elsewhere) return std::string();
    return "--listen " + options.listen +
           ": not a loopback address, so any host that reaches the port could send FastCGI and set any param; "
           "set FCGI_WEB_SERVER_ADDRS to the web server's address, or pass --allow-any-peer if any peer is fine";
}

std::string socket_directory_warning(const std::string& socket_path) {
    if (socket_path.empty()) return std::string();
    const std::size_t slash = socket_path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : socket_path.substr(0, slash);
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || (st.st_mode & S_IWOTH) == 0) return std::string();
    return "--socket " + socket_path + ": " + dir +
           " is writable by every user, so while this process is not running anyone here can put a socket "
           "at that path for the web server to send its requests to; use a directory only this service "
           "writes, such as /run/fcgihost (RuntimeDirectory= in systemd)";
}

}  // namespace fcgihost
