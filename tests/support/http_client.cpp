#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <strings.h>

namespace fcgihost {
namespace testing_support {

std::string HttpResponse::header(const std::string& name) const {
    for (const auto& h : headers) {
        if (strcasecmp(h.first.c_str(), name.c_str()) == 0) return h.second;
    }
    return std::string();
}

HttpConnection::HttpConnection(const std::string& host, int port, std::chrono::milliseconds timeout,
                               const std::string& source)
    : host_(host), timeout_(timeout) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) throw HttpError("not an IPv4 address: " + host);
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw HttpError(std::string("socket: ") + std::strerror(errno));
    if (!source.empty()) {
        sockaddr_in from{};
        from.sin_family = AF_INET;
        if (inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
            bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
            int err = errno;
            ::close(fd_);
            fd_ = -1;
            throw HttpError("bind " + source + ": " + std::strerror(err));
        }
    }
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        throw HttpError("connect " + host + ":" + std::to_string(port) + ": " + std::strerror(err));
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

HttpConnection::HttpConnection(HttpConnection&& other) noexcept { *this = std::move(other); }

HttpConnection& HttpConnection::operator=(HttpConnection&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.fd_;
        host_ = std::move(other.host_);
        timeout_ = other.timeout_;
        pending_ = std::move(other.pending_);
        other.fd_ = -1;
    }
    return *this;
}

HttpConnection::~HttpConnection() {
    if (fd_ >= 0) ::close(fd_);
}

bool HttpConnection::read_more() {
    pollfd p{fd_, POLLIN, 0};
    int ready;
    do {
        ready = poll(&p, 1, static_cast<int>(timeout_.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) throw HttpError("timed out waiting for the response");
    char buf[16384];
    ssize_t n;
    do {
        n = recv(fd_, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw HttpError(std::string("recv: ") + std::strerror(errno));
    if (n == 0) return false;
    pending_.append(buf, static_cast<std::size_t>(n));
    return true;
}

std::string HttpConnection::read_line() {
    for (;;) {
        std::size_t end = pending_.find("\r\n");
        if (end != std::string::npos) {
            std::string line = pending_.substr(0, end);
            pending_.erase(0, end + 2);
            return line;
        }
        if (!read_more()) throw HttpError("connection closed in the response head");
    }
}

std::string HttpConnection::read_exact(std::size_t n) {
    while (pending_.size() < n) {
        if (!read_more()) throw HttpError("connection closed in the response body");
    }
    std::string out = pending_.substr(0, n);
    pending_.erase(0, n);
    return out;
}

HttpResponse HttpConnection::request(const std::string& method, const std::string& target, const std::string& body,
                                     const std::vector<std::pair<std::string, std::string>>& headers) {
    if (fd_ < 0) throw HttpError("connection is closed");
    std::string head = method + " " + target + " HTTP/1.1\r\nHost: " + host_ + "\r\n";
    for (const auto& h : headers) head += h.first + ": " + h.second + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT") head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    std::string out = head + "\r\n" + body;
    for (std::size_t sent = 0; sent < out.size();) {
        ssize_t n = send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw HttpError(std::string("send: ") + std::strerror(errno));
        sent += static_cast<std::size_t>(n);
    }

    HttpResponse response;
    std::string status_line = read_line();
    if (status_line.compare(0, 5, "HTTP/") != 0 || status_line.size() < 12) {
        throw HttpError("bad status line: " + status_line);
    }
    response.status = std::stoi(status_line.substr(9, 3));
    for (std::string line = read_line(); !line.empty(); line = read_line()) {
        std::size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::size_t value = line.find_first_not_of(' ', colon + 1);
        response.headers.emplace_back(line.substr(0, colon), value == std::string::npos ? "" : line.substr(value));
    }
    if (method == "HEAD" || response.status == 204 || response.status == 304) {
    } else if (strcasecmp(response.header("Transfer-Encoding").c_str(), "chunked") == 0) {
        for (;;) {
            std::size_t size = std::stoul(read_line(), nullptr, 16);
            if (size == 0) {
                while (!read_line().empty()) {
                }
                break;
            }
            response.body += read_exact(size);
            read_line();
        }
    } else if (!response.header("Content-Length").empty()) {
        response.body = read_exact(std::stoul(response.header("Content-Length")));
    } else {
        while (read_more()) {
        }
        response.body = std::move(pending_);
        pending_.clear();
    }
    if (strcasecmp(response.header("Connection").c_str(), "close") == 0) {
        ::close(fd_);
        fd_ = -1;
    }
    return response;
}

HttpResponse http_get(const std::string& host, int port, const std::string& target) {
    HttpConnection c(host, port);
    return c.request("GET", target, "", {{"Connection", "close"}});
}

HttpResponse http_post(const std::string& host, int port, const std::string& target, const std::string& body) {
    HttpConnection c(host, port);
    return c.request("POST", target, body, {{"Connection", "close"}});
}

int http_status_from(const std::string& source, const std::string& host, int port, const std::string& target) {
    HttpConnection c(host, port, std::chrono::seconds(10), source);
    return c.request("GET", target, "", {{"Connection", "close"}}).status;
}

int free_local_port() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        if (fd >= 0) ::close(fd);
        throw HttpError("cannot find a free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

}  // namespace testing_support
}  // namespace fcgihost
