// Response: what a handler returns. A plain value with no I/O; the server writes it.
#pragma once

#include "fcgihost/request.hpp"

#include <string>

namespace fcgihost {

class Response {
public:
    Response() = default;
    Response(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");

    static Response text(int status, std::string body);
    static Response json(int status, std::string body);

    int status() const { return status_; }
    void set_status(int status) { status_ = status; }

    // Replaces any header of that name (case-insensitive). Throws std::invalid_argument if
    // the name is not an HTTP token or the name or value holds CR, LF or NUL: that is how
    // header injection is refused. A refused call leaves the response unchanged.
    void set_header(const std::string& name, const std::string& value);
    // Adds another header of that name (Set-Cookie). Same checks as set_header.
    void add_header(const std::string& name, const std::string& value);
    std::string header(const std::string& name) const;  // "" if absent
    const NameValues& headers() const { return headers_; }

    const std::string& body() const { return body_; }
    void set_body(std::string body) { body_ = std::move(body); }

    // The CGI form a FastCGI responder writes: "Status: 200 OK\r\n", the headers
    // (Content-Type defaults to text/plain), a blank line. The body follows it.
    std::string cgi_head() const;

private:
    int status_ = 200;
    NameValues headers_;
    std::string body_;
};

// "OK" for 200, "Not Found" for 404, ...; "Unknown" for codes it does not know.
const char* reason_phrase(int status);

}  // namespace fcgihost
