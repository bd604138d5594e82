// Request: what a handler sees of one FastCGI request. A plain value: it owns copies of
// everything (libfcgi frees its params and streams at FCGX_Finish_r), so it can be built
// in a test from a map and a string, and copied into a job if a job really needs it.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fcgihost {

using NameValues = std::vector<std::pair<std::string, std::string>>;

// The request cannot be understood; carries the HTTP status to answer with (400, 413).
struct RequestError : std::runtime_error {
    RequestError(int status, const std::string& what) : std::runtime_error(what), status(status) {}
    int status;
};

class Request {
public:
    // Builds a request from FastCGI/CGI params and a body that is already read.
    // Path: REQUEST_URI without its query, else SCRIPT_NAME + PATH_INFO; percent-decoded.
    // Query: QUERY_STRING, decoded. Headers: every HTTP_* param ("HTTP_X_TRACE_ID" becomes
    // "x-trace-id") plus content-type and content-length.
    // Throws RequestError(400) for invalid percent-encoding in the path or query.
    static Request from_params(NameValues params, std::string body);

    const std::string& method() const { return method_; }
    const std::string& path() const { return path_; }
    const std::string& query_string() const { return query_string_; }
    const NameValues& query() const { return query_; }
    // First value of a query parameter, or `fallback`.
    std::string query(const std::string& name, const std::string& fallback = "") const;
    bool has_query(const std::string& name) const;

    // Header names are lower case. Lookup ignores case; "" if absent.
    const NameValues& headers() const { return headers_; }
    std::string header(const std::string& name) const;

    // The raw FastCGI params, as the web server sent them. "" if absent.
    const NameValues& params() const { return params_; }
    std::string param(const std::string& name) const;

    const std::string& remote_addr() const { return remote_addr_; }
    const std::string& body() const { return body_; }

private:
    std::string method_;
    std::string path_;
    std::string query_string_;
    NameValues query_;
    NameValues headers_;
    NameValues params_;
    std::string remote_addr_;
    std::string body_;
};

}  // namespace fcgihost
