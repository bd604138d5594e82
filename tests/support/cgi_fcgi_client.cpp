#include "support/cgi_fcgi_client.hpp"

#include "support/frontend_process.hpp"
#include "support/process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace fcgihost {
namespace testing_support {
namespace {

// A CGI response: headers up to a blank line (CRLF or LF), then the body.
void parse_cgi_output(const std::string& out, CgiFcgiReply& reply) {
    std::size_t end = out.find("\r\n\r\n");
    std::size_t body_at = end == std::string::npos ? std::string::npos : end + 4;
    if (end == std::string::npos) {
        end = out.find("\n\n");
        body_at = end == std::string::npos ? std::string::npos : end + 2;
    }
    if (end == std::string::npos) return;
    const std::string headers = out.substr(0, end);
    reply.body = out.substr(body_at);
    reply.status = 200;
    const std::size_t at = headers.find("Status:");
    if (at != std::string::npos) reply.status = std::atoi(headers.c_str() + at + 7);
}

}  // namespace

std::string cgi_fcgi_binary() { return find_executable({"/usr/bin/cgi-fcgi"}, "libfcgi-bin"); }

std::vector<std::string> cgi_variables(const std::string& method, const std::string& target, std::size_t body_size) {
    const std::size_t question = target.find('?');
    const std::string path = target.substr(0, question);
    const std::string query = question == std::string::npos ? "" : target.substr(question + 1);
    return {"REQUEST_METHOD=" + method,     "REQUEST_URI=" + target,
            "SCRIPT_NAME=" + path,          "QUERY_STRING=" + query,
            "CONTENT_LENGTH=" + std::to_string(body_size), "SERVER_PROTOCOL=HTTP/1.1",
            "REMOTE_ADDR=127.0.0.1",        "GATEWAY_INTERFACE=CGI/1.1"};
}

CgiFcgiReply cgi_fcgi_request(const std::string& socket, const std::vector<std::string>& variables,
                              const std::string& body, std::chrono::milliseconds limit) {
    TempDir scratch;
    write_text_file(scratch.file("body"), body);
    int input = ::open(scratch.file("body").c_str(), O_RDONLY | O_CLOEXEC);
    if (input < 0) throw std::runtime_error("cannot open " + scratch.file("body"));
    std::vector<std::string> argv = {"/usr/bin/env", "-i"};
    argv.insert(argv.end(), variables.begin(), variables.end());
    argv.insert(argv.end(), {cgi_fcgi_binary(), "-bind", "-connect", socket});
    CgiFcgiReply reply;
    try {
        ChildProcess bridge(argv, scratch.file("out"), {}, input);
        ::close(input);
        input = -1;
        if (bridge.wait_exit(limit)) reply.exit_code = bridge.exit_code();
        reply.output = bridge.log();
    } catch (...) {
        if (input >= 0) ::close(input);
        throw;
    }
    parse_cgi_output(reply.output, reply);
    return reply;
}

}  // namespace testing_support
}  // namespace fcgihost
