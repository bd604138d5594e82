// How a connection accepted by the server becomes a libfcgi request: FCGX_Accept_r()
// accepts on request.listen_sock only when request.ipcFd < 0. We set ipcFd to the
// connection (and keepConnection, so that the FCGX_Finish_r it starts with does not
// close it), and the request's listen_sock is -1, so that after a protocol error, when
// libfcgi has closed the connection, its retry fails at once instead of accepting behind
// the server's back. We also mark it detached, so that whenever libfcgi closes a
// connection itself (after a failed write) it just closes it: its own close reads and
// discards until the peer has been quiet for 2 s, with no bound on the total, and a peer
// that kept sending would keep the thread for as long as it liked. libfcgi reads nothing
// from the socket itself: see fcgi_input.hpp.
// These fields are public in fcgiapp.h and have not changed since libfcgi 2.2; the
// integration tests exercise this path on every run.
#include "fastcgi/fcgi_exchange.hpp"

#include "fastcgi/fcgi_input.hpp"
#include "fcgihost/log.hpp"

#include <fcgiapp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

namespace fcgihost {
namespace {

// After a refusal, how long unread input is drained before the close (close_lingering).
constexpr std::chrono::milliseconds kLingerLimit{2000};

NameValues read_params(const FCGX_Request& request) {
    NameValues params;
    params.reserve(32);
    for (char** env = request.envp; env != nullptr && *env != nullptr; ++env) {
        const char* eq = std::strchr(*env, '=');
        if (eq == nullptr) continue;
        params.emplace_back(std::string(*env, static_cast<std::size_t>(eq - *env)), std::string(eq + 1));
    }
    return params;
}

std::string find_param(const NameValues& params, std::string_view name) {
    for (const auto& nv : params) {
        if (std::string_view(nv.first) == name) return nv.second;
    }
    return std::string();
}

// Reads the body within the limit. Returns 0 when it is complete, else the status to
// answer with: 413 over the limit, 400 when it disagrees with CONTENT_LENGTH or the
// stream broke off before its end.
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
    // Grown as bytes come, never sized by a claim: CONTENT_LENGTH is only what the web
    // server says, and the body at hand may be much shorter.
    const std::size_t want = has_length ? expected : max_body + 1;
    char chunk[8192];
    while (body.size() < want) {
        int n = FCGX_GetStr(chunk, static_cast<int>(std::min(sizeof chunk, want - body.size())), in);
        if (n <= 0) break;
        body.append(chunk, static_cast<std::size_t>(n));
    }
    const std::size_t got = body.size();
    if (!has_length && got > max_body) return 413;
    if (has_length && (got < expected || FCGX_GetChar(in) != EOF)) return 400;
    // The stream ended in an error, not with its empty closing record (the assembled
    // request always has one; this guards the assumption).
    if (FCGX_GetError(in) != 0) return 400;
    return 0;
}

// Why a libfcgi stream failed, for the log.
std::string stream_error_text(int error) {
    if (error == EAGAIN || error == EWOULDBLOCK) return "no progress within --io-timeout";
    if (error > 0) return std::strerror(error);
    return "FastCGI error " + std::to_string(error);
}

// After answering a request whose input was not all read (a refused body), an immediate
// close could turn the unread input into a TCP reset that destroys the answer on its way.
// So, like libfcgi, shut our side and read until the peer closes; unlike libfcgi, for a
// bounded time only, so that a peer that keeps sending cannot keep the thread.
void close_lingering(int fd, std::chrono::milliseconds limit) {
    if (shutdown(fd, SHUT_WR) == 0) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        char discard[4096];
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            pollfd p{fd, POLLIN, 0};
            if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
            ssize_t n = recv(fd, discard, sizeof discard, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) break;
        }
    }
    ::close(fd);
}

void write_response(FCGX_Request& request, const Response& response, bool with_body) {
    std::string head = response.cgi_head();
    FCGX_PutStr(head.data(), static_cast<int>(head.size()), request.out);
    if (with_body && !response.body().empty()) {
        FCGX_PutStr(response.body().data(), static_cast<int>(response.body().size()), request.out);
    }
}

}  // namespace

Exchange exchange(FCGX_Request& request, int fd, const std::string& records, const Handler& handler,
                  std::size_t max_body, std::chrono::milliseconds io_timeout, ExchangeCounters& counters) {
    const FcgiInput reading(fd, records);
    request.ipcFd = fd;
    request.keepConnection = 1;
    request.detached = 1;  // see the top of this file: libfcgi's own close must not linger
    if (FCGX_Accept_r(&request) < 0) {
        // Not expected: the records were checked and rebuilt before libfcgi saw them.
        log_error("closed a connection: libfcgi refused an assembled request");
        request.ipcFd = -1;
        return Exchange::closed_already;
    }
    if (int error = FCGX_GetError(request.in)) {
        // libfcgi ends the params at a stream error as if they had ended there: a request
        // made of whatever params came before must not run. Not expected, as above.
        log_error("closed a connection: libfcgi could not read the params of an assembled request (",
                  stream_error_text(error), ")");
        FCGX_Free(&request, 1);  // closes without a word: FCGX_Finish_r would send an empty answer
        return Exchange::closed_already;
    }
    ++counters.active;
    NameValues params = read_params(request);
    std::string body;
    int refusal = read_body(request.in, params, max_body, body);
    // libfcgi's copy of the params lives until FCGX_Finish_r; ours goes to the handler.
    const auto param = [&request](const char* name) {
        const char* value = FCGX_GetParam(name, request.envp);
        return std::string(value != nullptr ? value : "");
    };
    const bool head_only = param("REQUEST_METHOD") == "HEAD";
    const auto what = [&param] { return param("REQUEST_METHOD") + " " + param("REQUEST_URI"); };  // for the log only
    // A failed handler's line names the route but not the query, which may hold secrets.
    const auto route = [&param] {
        const std::string uri = param("REQUEST_URI");
        return param("REQUEST_METHOD") + " " + uri.substr(0, uri.find('?'));
    };
    Response response;
    if (refusal != 0) {
        ++counters.bad_requests;
        const int error = FCGX_GetError(request.in);
        log_warn("refused ", what(), ": ",
                 refusal == 413 ? "body over --max-body"
                 : error != 0   ? "body incomplete: " + stream_error_text(error)
                                : std::string("body does not match CONTENT_LENGTH"));
        response = Response::text(refusal, refusal == 413 ? "request body too large\n" : "bad request body\n");
    } else {
        try {
            response = handler(Request::from_params(std::move(params), std::move(body)));
        } catch (const RequestError& e) {
            ++counters.bad_requests;
            log_warn("bad request: ", e.what());
            response = Response::text(e.status, "bad request\n");
        } catch (const std::exception& e) {
            ++counters.handler_errors;
            log_error("handler failed for ", route(), ": ", e.what());
            response = Response::text(500, "internal server error\n");
        } catch (...) {
            ++counters.handler_errors;
            log_error("handler failed for ", route(), ": exception of unknown type");
            response = Response::text(500, "internal server error\n");
        }
    }
    write_response(request, response, !head_only);
    // Counted before the finish: once it is sent the client may ask /status at once.
    --counters.active;
    ++counters.served;
    // Closing the output streams sends what is buffered and FCGI_END_REQUEST; done here
    // rather than inside FCGX_Finish_r so that a failed delivery can be logged.
    FCGX_FClose(request.err);
    if (FCGX_FClose(request.out) != 0) {
        log_warn("response to ", what(), " not delivered: ", stream_error_text(FCGX_GetError(request.out)));
    }
    // libfcgi closes a connection itself only after a failed read or write (at once, since
    // it is detached). The others are ours to close: at once when all input was read, so
    // a client that does not hang up holds no thread; after a bounded linger when a
    // refusal left input unread.
    const bool web_server_keeps = request.keepConnection != 0;
    request.keepConnection = 1;
    FCGX_Finish_r(&request);
    if (request.ipcFd < 0) return Exchange::closed_already;
    request.ipcFd = -1;
    if (refusal != 0) {
        close_lingering(fd, std::min(kLingerLimit, io_timeout));
        return Exchange::closed_already;
    }
    return web_server_keeps ? Exchange::keep_open : Exchange::caller_closes;
}

}  // namespace fcgihost
