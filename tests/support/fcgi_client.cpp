#include "support/fcgi_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace fcgihost { namespace testing_support {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

FcgiError errno_error(const std::string& what) {
    return FcgiError(what + ": " + std::strerror(errno));
}

// revents of `fd`, or 0 if `wait` passed first. The deadline is fixed up front so EINTR cannot
// stretch the wait.
short poll_one(int fd, short events, milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    for (;;) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        pollfd p{fd, events, 0};
        const int rc = ::poll(&p, 1, left.count() > 0 ? static_cast<int>(left.count()) : 0);
        if (rc > 0) return p.revents;
        if (rc == 0) return 0;
        if (errno != EINTR) throw errno_error("poll");
    }
}

void apply_timeouts(int fd, milliseconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        throw errno_error("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)");
}

// Blocking connect bounded by SO_SNDTIMEO. After EINTR a TCP connect keeps going in the
// background (retry says EALREADY), so wait for it; a unix connect simply starts over.
void connect_fd(int fd, const sockaddr* addr, socklen_t len, const std::string& where, milliseconds limit) {
    for (;;) {
        if (::connect(fd, addr, len) == 0 || errno == EISCONN) return;
        if (errno == EINTR) continue;
        // What a blocking connect reports when SO_SNDTIMEO expires (TCP, resp. a full unix backlog).
        if (errno == EINPROGRESS || errno == EAGAIN) throw FcgiError("connect " + where + ": timed out");
        if (errno != EALREADY) throw errno_error("connect " + where);
        if (poll_one(fd, POLLOUT, limit) == 0) throw FcgiError("connect " + where + ": timed out");
        int err = 0;
        socklen_t err_len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) throw errno_error("getsockopt");
        if (err != 0) throw FcgiError("connect " + where + ": " + std::strerror(err));
        return;
    }
}

void put_u16(std::string& out, std::uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xff));
}

void put_length(std::string& out, std::size_t n) {
    if (n < 128) {
        out.push_back(static_cast<char>(n));
        return;
    }
    if (n > 0x7fffffffu) throw std::length_error("FastCGI name/value longer than 2^31-1 bytes");
    out.push_back(static_cast<char>(((n >> 24) & 0x7f) | 0x80));
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    out.push_back(static_cast<char>(n & 0xff));
}

std::size_t take_length(const std::string& in, std::size_t& pos) {
    if (pos >= in.size()) throw FcgiError("truncated FastCGI name-value pair");
    const auto b0 = static_cast<unsigned char>(in[pos]);
    if ((b0 & 0x80) == 0) {
        ++pos;
        return b0;
    }
    if (pos + 4 > in.size()) throw FcgiError("truncated FastCGI name-value length");
    std::size_t n = b0 & 0x7f;
    for (int i = 1; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(in[pos + i]);
    pos += 4;
    return n;
}

// Removes and returns the first whole record of `buf`, if there is one.
std::optional<FcgiRecord> take_record(std::string& buf) {
    if (buf.size() < kFcgiHeaderLength) return std::nullopt;
    const auto* h = reinterpret_cast<const unsigned char*>(buf.data());
    const std::size_t content = (std::size_t{h[4]} << 8) | h[5];
    const std::size_t total = kFcgiHeaderLength + content + h[6];
    if (buf.size() < total) return std::nullopt;
    FcgiRecord r;
    r.version = h[0];
    r.type = h[1];
    r.request_id = static_cast<std::uint16_t>((h[2] << 8) | h[3]);
    r.content = buf.substr(kFcgiHeaderLength, content);
    buf.erase(0, total);
    return r;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

void parse_cgi_output(FcgiResponse& r) {
    const std::string& out = r.stdout_text;
    std::size_t pos = 0;
    bool blank_line_seen = false;
    while (pos < out.size()) {
        const auto nl = out.find('\n', pos);
        std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? out.size() : nl + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) {
            blank_line_seen = true;
            break;
        }
        const auto colon = line.find(':');
        if (colon == std::string::npos) r.headers.emplace_back(line, "");
        else r.headers.emplace_back(line.substr(0, colon), trim(line.substr(colon + 1)));
    }
    if (blank_line_seen) r.body = out.substr(pos);
    const std::string status = r.header("Status");
    if (status.empty()) r.status = 200;
    else r.status = std::isdigit(static_cast<unsigned char>(status[0])) ? std::atoi(status.c_str()) : 0;
}

}  // namespace

std::string FcgiResponse::header(const std::string& name) const {
    for (const auto& h : headers)
        if (::strcasecmp(h.first.c_str(), name.c_str()) == 0) return h.second;
    return "";
}

FcgiConnection::FcgiConnection(int fd) : fd_(fd) {}

FcgiConnection::FcgiConnection(FcgiConnection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), timeout_(other.timeout_), pending_(std::move(other.pending_)) {}

FcgiConnection& FcgiConnection::operator=(FcgiConnection&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        timeout_ = other.timeout_;
        pending_ = std::move(other.pending_);
    }
    return *this;
}

FcgiConnection::~FcgiConnection() { close(); }

FcgiConnection FcgiConnection::connect_unix(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw FcgiError("unix socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw errno_error("socket(AF_UNIX)");
    FcgiConnection c(fd);  // owns fd from here, so a throw below closes it
    apply_timeouts(fd, c.timeout_);
    connect_fd(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr, path, c.timeout_);
    return c;
}

FcgiConnection FcgiConnection::connect_tcp(const std::string& host, int port) {
    if (port <= 0 || port > 65535) throw FcgiError("bad TCP port " + std::to_string(port));
    std::string h = host;
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    sockaddr_storage addr{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<std::uint16_t>(port));
        len = sizeof *v4;
    } else if (::inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<std::uint16_t>(port));
        len = sizeof *v6;
    } else {
        throw FcgiError("not a numeric IPv4/IPv6 address: " + host);
    }
    const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw errno_error("socket(AF_INET)");
    FcgiConnection c(fd);
    apply_timeouts(fd, c.timeout_);
    const int one = 1;  // requests go out in a few large sends; Nagle would only delay the tail
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connect_fd(fd, reinterpret_cast<const sockaddr*>(&addr), len, host + ":" + std::to_string(port), c.timeout_);
    return c;
}

void FcgiConnection::set_timeout(std::chrono::milliseconds t) {
    require_open();
    apply_timeouts(fd_, t);
    timeout_ = t;
}

void FcgiConnection::require_open() const {
    if (fd_ < 0) throw FcgiError("FastCGI connection is closed");
}

bool FcgiConnection::receive_once() {
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            pending_.append(buf, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0) return false;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
        if (errno == ECONNRESET) return false;
        throw errno_error("recv");
    }
}

FcgiResponse FcgiConnection::request(const FcgiParams& params, const std::string& body, bool keep_conn,
                                     std::uint16_t request_id) {
    require_open();
    const std::string out = fcgi_request_bytes(params, body, keep_conn, request_id);
    std::size_t sent = 0;
    int send_errno = 0;  // set once the peer stopped accepting; the reply may still be readable
    FcgiResponse r;
    for (;;) {
        while (auto rec = take_record(pending_)) {
            if (rec->version != kFcgiVersion1)
                throw FcgiError("FastCGI record with version " + std::to_string(rec->version));
            if (rec->request_id != request_id) continue;  // other requests and management records
            if (rec->type == kFcgiStdout) r.stdout_text += rec->content;
            else if (rec->type == kFcgiStderr) r.stderr_text += rec->content;
            else if (rec->type == kFcgiEndRequest) {
                if (rec->content.size() < 8) throw FcgiError("short FCGI_END_REQUEST");
                const auto* c = reinterpret_cast<const unsigned char*>(rec->content.data());
                r.app_status = (std::uint32_t{c[0]} << 24) | (std::uint32_t{c[1]} << 16) |
                               (std::uint32_t{c[2]} << 8) | c[3];
                r.protocol_status = c[4];
                parse_cgi_output(r);
                // A kept connection must not stop mid-record, or the next request starts inside
                // this one's stdin. Failing here only spoils later requests, not this response.
                if (keep_conn && send_errno == 0 && sent < out.size()) {
                    try {
                        send_all(out.data() + sent, out.size() - sent);
                    } catch (const FcgiError&) {
                    }
                }
                return r;
            }
        }
        const bool want_write = sent < out.size() && send_errno == 0;
        const short rev = poll_one(fd_, want_write ? POLLIN | POLLOUT : POLLIN, timeout_);
        if (rev == 0) throw FcgiError("timed out waiting for FastCGI response");
        if ((rev & (POLLIN | POLLHUP | POLLERR)) && !receive_once()) {
            std::string why = "FastCGI connection closed before FCGI_END_REQUEST (" +
                              std::to_string(r.stdout_text.size()) + " stdout bytes received";
            if (send_errno != 0) why += std::string("; send failed: ") + std::strerror(send_errno);
            throw FcgiError(why + ")");
        }
        if (want_write && (rev & POLLOUT)) {
            const ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) sent += static_cast<std::size_t>(n);
            else if (errno == EPIPE || errno == ECONNRESET) send_errno = errno;
            else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) throw errno_error("send");
        }
    }
}

void FcgiConnection::send_raw(const std::string& bytes) {
    require_open();
    send_all(bytes.data(), bytes.size());
}

void FcgiConnection::send_all(const char* data, std::size_t size) {
    std::size_t sent = 0;
    while (sent < size) {
        const ssize_t n = ::send(fd_, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (poll_one(fd_, POLLOUT, timeout_) == 0) throw FcgiError("timed out sending to FastCGI peer");
        } else if (errno != EINTR) {
            throw errno_error("send");
        }
    }
}

std::string FcgiConnection::read_some(std::chrono::milliseconds wait) {
    require_open();
    if (pending_.empty() && poll_one(fd_, POLLIN, wait) != 0) receive_once();
    return std::exchange(pending_, std::string());
}

std::optional<FcgiRecord> FcgiConnection::read_record(std::chrono::milliseconds wait) {
    require_open();
    const auto deadline = Clock::now() + wait;
    for (;;) {
        if (auto rec = take_record(pending_)) return rec;
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left.count() <= 0 || poll_one(fd_, POLLIN, left) == 0) return std::nullopt;
        if (!receive_once()) return std::nullopt;
    }
}

bool FcgiConnection::peer_closed(std::chrono::milliseconds wait) {
    require_open();
    const auto deadline = Clock::now() + wait;
    for (;;) {
        pending_.clear();
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (poll_one(fd_, POLLIN, std::max(left, milliseconds(0))) == 0) return false;
        if (!receive_once()) return true;
    }
}

int FcgiConnection::fd() const { return fd_; }

void FcgiConnection::close() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));  // no retry on EINTR: Linux has released the fd
    pending_.clear();
}

std::string fcgi_record(std::uint8_t type, std::uint16_t request_id, const std::string& content,
                        std::uint8_t version) {
    if (content.size() > kFcgiMaxContent) throw std::length_error("FastCGI record content over 65535 bytes");
    const std::size_t padding = (8 - content.size() % 8) % 8;
    std::string out;
    out.reserve(kFcgiHeaderLength + content.size() + padding);
    out.push_back(static_cast<char>(version));
    out.push_back(static_cast<char>(type));
    put_u16(out, request_id);
    put_u16(out, static_cast<std::uint16_t>(content.size()));
    out.push_back(static_cast<char>(padding));
    out.push_back('\0');
    out += content;
    out.append(padding, '\0');
    return out;
}

std::string fcgi_begin_request(std::uint16_t request_id, bool keep_conn, std::uint16_t role) {
    std::string body;
    put_u16(body, role);
    body.push_back(static_cast<char>(keep_conn ? kFcgiKeepConn : 0));
    body.append(5, '\0');
    return fcgi_record(kFcgiBeginRequest, request_id, body);
}

std::string fcgi_encode_params(const FcgiParams& params) {
    std::string out;
    for (const auto& p : params) {
        put_length(out, p.first.size());
        put_length(out, p.second.size());
        out += p.first;
        out += p.second;
    }
    return out;
}

FcgiParams fcgi_decode_params(const std::string& encoded) {
    FcgiParams out;
    std::size_t pos = 0;
    while (pos < encoded.size()) {
        const std::size_t name_len = take_length(encoded, pos);
        const std::size_t value_len = take_length(encoded, pos);
        if (encoded.size() - pos < name_len + value_len) throw FcgiError("truncated FastCGI name-value data");
        out.emplace_back(encoded.substr(pos, name_len), encoded.substr(pos + name_len, value_len));
        pos += name_len + value_len;
    }
    return out;
}

std::string fcgi_stream(std::uint8_t type, std::uint16_t request_id, const std::string& content) {
    std::string out;
    for (std::size_t pos = 0; pos < content.size(); pos += kFcgiMaxContent)
        out += fcgi_record(type, request_id, content.substr(pos, kFcgiMaxContent));
    return out + fcgi_record(type, request_id, "");
}

std::string fcgi_request_bytes(const FcgiParams& params, const std::string& body, bool keep_conn,
                               std::uint16_t request_id) {
    return fcgi_begin_request(request_id, keep_conn) +
           fcgi_stream(kFcgiParams, request_id, fcgi_encode_params(params)) +
           fcgi_stream(kFcgiStdin, request_id, body);
}

FcgiParams cgi_params(const std::string& method, const std::string& uri, std::size_t body_length,
                      const FcgiParams& extra) {
    const auto q = uri.find('?');
    const std::string path = uri.substr(0, q);
    const std::string query = q == std::string::npos ? "" : uri.substr(q + 1);
    FcgiParams p{{"REQUEST_METHOD", method}, {"REQUEST_URI", uri},         {"SCRIPT_NAME", path},
                 {"DOCUMENT_URI", path},     {"QUERY_STRING", query},      {"SERVER_PROTOCOL", "HTTP/1.1"},
                 {"GATEWAY_INTERFACE", "CGI/1.1"}, {"REMOTE_ADDR", "127.0.0.1"}, {"REMOTE_PORT", "54321"},
                 {"SERVER_NAME", "localhost"}, {"SERVER_PORT", "80"}};
    if (body_length > 0 || method == "POST" || method == "PUT")
        p.emplace_back("CONTENT_LENGTH", std::to_string(body_length));
    p.insert(p.end(), extra.begin(), extra.end());
    return p;
}

FcgiResponse fcgi_get(const std::string& socket_path, const std::string& uri) {
    return FcgiConnection::connect_unix(socket_path).request(cgi_params("GET", uri));
}

FcgiResponse fcgi_post(const std::string& socket_path, const std::string& uri, const std::string& body) {
    return FcgiConnection::connect_unix(socket_path).request(cgi_params("POST", uri, body.size()), body);
}

}}  // namespace fcgihost::testing_support
