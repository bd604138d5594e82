// One request through `cgi-fcgi -bind -connect SOCKET` (Debian's libfcgi-bin), the CGI
// bridge that ships with libfcgi: it sends its environment as the FastCGI params and its
// stdin as the body, and writes the responder's answer (CGI headers, blank line, body) to
// stdout. The environment is exactly the variables given (env -i), as a CGI server would set
// them. Thread-safe: every call has its own temp dir.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace fcgihost {
namespace testing_support {

std::string cgi_fcgi_binary();  // /usr/bin/cgi-fcgi; throws if missing

struct CgiFcgiReply {
    int exit_code = -1;    // cgi-fcgi's; -1 if it did not exit within the limit (it is killed)
    int status = 0;        // from the Status header (200 without one); 0 if no headers came
    std::string body;
    std::string output;    // all cgi-fcgi wrote, stdout and stderr, for failure messages
};

// The CGI variables of a request for `target` ("/work?ms=0&id=x"): REQUEST_METHOD,
// REQUEST_URI, SCRIPT_NAME (the path), QUERY_STRING, CONTENT_LENGTH, SERVER_PROTOCOL,
// REMOTE_ADDR, GATEWAY_INTERFACE.
std::vector<std::string> cgi_variables(const std::string& method, const std::string& target, std::size_t body_size);

// Runs cgi-fcgi with `variables` as its whole environment and `body` on stdin.
CgiFcgiReply cgi_fcgi_request(const std::string& socket, const std::vector<std::string>& variables,
                              const std::string& body = "",
                              std::chrono::milliseconds limit = std::chrono::seconds(30));

}  // namespace testing_support
}  // namespace fcgihost
