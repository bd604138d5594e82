// A minimal HTTP/1.1 client for end-to-end tests through a real nginx or Apache on
// loopback: one request per call over its own connection ("Connection: close"), or
// several over one kept connection. Content-Length and chunked bodies are read; nothing
// else of HTTP is attempted. Not thread-safe per object; one object per thread.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fcgihost {
namespace testing_support {

struct HttpResponse {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string header(const std::string& name) const;  // case-insensitive, "" if absent
};

// Connect failure, I/O error, timeout, or a connection closed before the whole response.
struct HttpError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class HttpConnection {
public:
    HttpConnection(const HttpConnection&) = delete;
    HttpConnection& operator=(const HttpConnection&) = delete;
    HttpConnection(HttpConnection&& other) noexcept;
    HttpConnection& operator=(HttpConnection&& other) noexcept;
    ~HttpConnection();

    // Connects to a numeric IPv4 address, from `source` if given (another loopback address
    // such as 127.0.0.2, so that the server sees a remote address other than 127.0.0.1);
    // throws HttpError.
    HttpConnection(const std::string& host, int port, std::chrono::milliseconds timeout = std::chrono::seconds(30),
                   const std::string& source = "");

    // Sends one request and reads its response; keeps the connection for the next call
    // unless the server says "Connection: close". Throws HttpError.
    HttpResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                         const std::vector<std::pair<std::string, std::string>>& headers = {});

private:
    bool read_more();
    std::string read_line();
    std::string read_exact(std::size_t n);

    int fd_ = -1;
    std::string host_;
    std::chrono::milliseconds timeout_;
    std::string pending_;  // received, not yet consumed
};

// One request on a fresh connection.
HttpResponse http_get(const std::string& host, int port, const std::string& target);
HttpResponse http_post(const std::string& host, int port, const std::string& target, const std::string& body);

// The status of GET target from a connection bound to `source`; throws HttpError.
int http_status_from(const std::string& source, const std::string& host, int port, const std::string& target);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
int free_local_port();

}  // namespace testing_support
}  // namespace fcgihost
