#include "fcgihost/response.hpp"

#include <stdexcept>
#include <strings.h>

namespace fcgihost {
namespace {

bool is_token_char(char c) {
    if (c >= 'a' && c <= 'z') return true;
    if (c >= 'A' && c <= 'Z') return true;
    if (c >= '0' && c <= '9') return true;
    switch (c) {
        case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
        case '-': case '.': case '^': case '_': case '`': case '|': case '~':
            return true;
        default:
            return false;
    }
}

void check_header(const std::string& name, const std::string& value) {
    if (name.empty()) throw std::invalid_argument("empty response header name");
    for (char c : name) {
        if (!is_token_char(c)) throw std::invalid_argument("invalid character in response header name");
    }
    for (char c : value) {
        if (c == '\r' || c == '\n' || c == '\0') {
            throw std::invalid_argument("CR, LF or NUL in value of response header " + name);
        }
    }
}

}  // namespace

Response::Response(int status, std::string body, std::string content_type)
    : status_(status), body_(std::move(body)) {
    set_header("Content-Type", content_type);
}

Response Response::text(int status, std::string body) { return Response(status, std::move(body)); }

Response Response::json(int status, std::string body) {
    return Response(status, std::move(body), "application/json");
}

void Response::set_header(const std::string& name, const std::string& value) {
    check_header(name, value);
    for (auto it = headers_.begin(); it != headers_.end();) {
        it = strcasecmp(it->first.c_str(), name.c_str()) == 0 ? headers_.erase(it) : it + 1;
    }
    headers_.emplace_back(name, value);
}

void Response::add_header(const std::string& name, const std::string& value) {
    check_header(name, value);
    headers_.emplace_back(name, value);
}

std::string Response::header(const std::string& name) const {
    for (const auto& nv : headers_) {
        if (strcasecmp(nv.first.c_str(), name.c_str()) == 0) return nv.second;
    }
    return std::string();
}

std::string Response::cgi_head() const {
    std::string head = "Status: " + std::to_string(status_) + " " + reason_phrase(status_) + "\r\n";
    bool has_type = false;
    for (const auto& nv : headers_) {
        if (strcasecmp(nv.first.c_str(), "Content-Type") == 0) has_type = true;
        head += nv.first + ": " + nv.second + "\r\n";
    }
    if (!has_type) head += "Content-Type: text/plain; charset=utf-8\r\n";
    head += "\r\n";
    return head;
}

const char* reason_phrase(int status) {
    switch (status) {
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 409: return "Conflict";
        case 413: return "Payload Too Large";
        case 415: return "Unsupported Media Type";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        default: return "Unknown";
    }
}

}  // namespace fcgihost
