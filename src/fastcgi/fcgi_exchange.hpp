// One request and its response over a connection, with libfcgi. Internal to the server:
// this and server.cpp are the only places that touch libfcgi.
#pragma once

#include "fcgihost/router.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

struct FCGX_Request;

namespace fcgihost {

// Shared by every request thread; updated without a lock.
struct ExchangeCounters {
    std::atomic<std::uint64_t> served{0};          // responses written (any status)
    std::atomic<std::uint64_t> active{0};          // requests being handled now
    std::atomic<std::uint64_t> handler_errors{0};  // handlers that threw (answered 500)
    std::atomic<std::uint64_t> bad_requests{0};    // answered 4xx before the handler ran
};

// What became of the connection, and so who closes it: the web server keeps it open
// (FCGI_KEEP_CONN) for the next request; it is done and the caller closes it; or it is
// closed already (by libfcgi, or after a refusal's linger), and the caller must not.
enum class Exchange { keep_open, caller_closes, closed_already };

// Serves one request on connection `fd`: libfcgi reads it from `records` (a whole request
// assembled by request_assembler.hpp; see fcgi_input.hpp), `handler` runs, and the response
// and FCGI_END_REQUEST go to the socket. A body over `max_body` gets 413 and one that
// disagrees with CONTENT_LENGTH 400, without calling the handler; a handler's exception
// becomes a 500 with a generic body and a log line. A refusal closes the connection after
// draining unread input for at most min(2 s, io_timeout).
// `request` is the thread's own FCGX_Request, initialised with listen_sock -1.
Exchange exchange(FCGX_Request& request, int fd, const std::string& records, const Handler& handler,
                  std::size_t max_body, std::chrono::milliseconds io_timeout, ExchangeCounters& counters);

}  // namespace fcgihost
