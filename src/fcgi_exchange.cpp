// How a connection accepted by the server becomes a libfcgi request: FCGX_Accept_r()
// accepts on request.listen_sock only when request.ipcFd < 0. We set ipcFd to the
// connection (and keepConnection, so that the FCGX_Finish_r it starts with does not
// close it), and the request's listen_sock is -1, so that after a protocol error, when
// libfcgi has closed the connection, its retry fails at once instead of accepting behind
// the server's back. These fields are public in fcgiapp.h and have not changed since
// libfcgi 2.2; the integration tests exercise this path on every run.
#include "fcgi_exchange.hpp"

#include "fcgihost/log.hpp"

#include <fcgiapp.h>

#include <cstring>

namespace fcgihost {
namespace {

NameValues read_params(const FCGX_Request& request) {
    NameValues params;
    for (char** env = request.envp; env != nullptr && *env != nullptr; ++env) {
        const char* eq = std::strchr(*env, '=');
        if (eq == nullptr) continue;
        params.emplace_back(std::string(*env, static_cast<std::size_t>(eq - *env)), std::string(eq + 1));
    }
    return params;
}

std::string find_param(const NameValues& params, const char* name) {
    for (const auto& nv : params) {
        if (nv.first == name) return nv.second;
    }
    return std::string();
}

// Reads the body within the limit. Returns 0 when it is complete, else the status to
// answer with: 413 over the limit, 400 when it disagrees with CONTENT_LENGTH.
int read_body(FCGX_Stream* in, const NameValues& params, std::size_t max_body, std::string& body) {
    std::string length_text = find_param(params, "CONTENT_LENGTH");
    std::size_t expected = 0;
    bool has_length = !length_text.empty();
    if (has_length) {
        if (length_text.find_first_not_of("0123456789") != std::string::npos || length_text.size() > 18) {
            return 400;
        }
        expected = std::stoull(length_text);
        if (expected > max_body) return 413;
    }
    std::size_t want = has_length ? expected : max_body + 1;
    body.resize(want);
    std::size_t got = 0;
    while (got < want) {
        int n = FCGX_GetStr(&body[got], static_cast<int>(std::min<std::size_t>(want - got, 65536)), in);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    body.resize(got);
    if (!has_length) return got > max_body ? 413 : 0;
    if (got < expected) return 400;
    if (FCGX_GetChar(in) != EOF) return 400;
    return 0;
}

void write_response(FCGX_Request& request, const Response& response, bool with_body) {
    std::string head = response.cgi_head();
    FCGX_PutStr(head.data(), static_cast<int>(head.size()), request.out);
    if (with_body && !response.body().empty()) {
        FCGX_PutStr(response.body().data(), static_cast<int>(response.body().size()), request.out);
    }
}

}  // namespace

Exchange exchange(FCGX_Request& request, int fd, const Handler& handler, std::size_t max_body,
                  ExchangeCounters& counters) {
    request.ipcFd = fd;
    request.keepConnection = 1;
    if (FCGX_Accept_r(&request) < 0) {
        // libfcgi met a malformed begin or params record and has closed the connection.
        log_warn("closed a connection: malformed or incomplete FastCGI request header");
        request.ipcFd = -1;
        return Exchange::closed;
    }
    ++counters.active;
    NameValues params = read_params(request);
    std::string body;
    int refusal = read_body(request.in, params, max_body, body);
    const bool head_only = find_param(params, "REQUEST_METHOD") == "HEAD";
    Response response;
    if (refusal != 0) {
        ++counters.bad_requests;
        log_warn("refused ", find_param(params, "REQUEST_METHOD"), " ", find_param(params, "REQUEST_URI"), ": ",
                 refusal == 413 ? "body over --max-body" : "body does not match CONTENT_LENGTH");
        response = Response::text(refusal, refusal == 413 ? "request body too large\n" : "bad request body\n");
        request.keepConnection = 0;  // unread input may be left: libfcgi's lingering close
    } else {
        try {
            response = handler(Request::from_params(std::move(params), std::move(body)));
        } catch (const RequestError& e) {
            ++counters.bad_requests;
            log_warn("bad request: ", e.what());
            response = Response::text(e.status, "bad request\n");
        } catch (const std::exception& e) {
            ++counters.handler_errors;
            log_error("handler failed: ", e.what());
            response = Response::text(500, "internal server error\n");
        } catch (...) {
            ++counters.handler_errors;
            log_error("handler failed: exception of unknown type");
            response = Response::text(500, "internal server error\n");
        }
    }
    write_response(request, response, !head_only);
    // Counted before the finish: once it is sent the client may ask /status at once.
    --counters.active;
    ++counters.served;
    // libfcgi closes a connection by shutting down its side and reading until the peer
    // closes, for up to 2 s, so that unread input cannot turn into a reset that loses the
    // response. That matters only when input was left unread; otherwise we close it
    // ourselves, at once, and a client that does not hang up holds no thread.
    const bool web_server_keeps = request.keepConnection != 0;
    if (refusal == 0) request.keepConnection = 1;
    FCGX_Finish_r(&request);
    if (request.ipcFd < 0) return Exchange::closed;
    request.ipcFd = -1;
    return web_server_keeps ? Exchange::keep : Exchange::close;
}

}  // namespace fcgihost
