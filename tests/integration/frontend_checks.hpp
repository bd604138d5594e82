// The checks every front end in the end-to-end tests goes through (HAProxy, lighttpd,
// Caddy, cgi-fcgi), written once: hello, a 1 MiB body echoed byte for byte, a job and its
// done line, a few hundred requests in a row, a 404, and a graceful stop of the demo while
// clients keep sending. Each check asserts with CppUnit; the stop also prints what the
// clients saw, since that is what the deployment docs quote.
#pragma once

#include "support/process.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace fcgihost {
namespace testing_support {

// One answer as a client saw it; status 0: no answer at all, `error` says why.
struct FrontReply {
    int status = 0;
    std::string body;
    std::string error;
    bool retried = false;  // sent again after a kept connection closed with no answer
};

// Sends one request and returns what came back; never throws for a failed request.
using FrontSend = std::function<FrontReply(const std::string& method, const std::string& target,
                                           const std::string& body)>;
// Makes a sender for one client thread (an HTTP sender keeps its connection between calls).
using FrontClient = std::function<FrontSend()>;

// HTTP/1.1 to host:port over one kept connection, opened again after the server closes it
// or after an error; each request gives up after `timeout`. Like a browser, a GET sent on a
// kept connection that the server closes without any answer is sent once more on a new one
// (a server may close an idle kept connection just as a request goes out; HAProxy passes
// such a close on to its client instead of answering).
FrontClient http_front_client(const std::string& host, int port, std::chrono::milliseconds timeout);

// The demo on a socket in a temp dir of its own that a web server's user can reach: the
// dir is 0755, and when the tests run as root the socket belongs to `group` with mode 0660
// (--socket-owner :group --socket-mode 0660), as the deployment docs set it up. `group`
// "" leaves the socket as the demo makes it.
class FrontDemo {
public:
    FrontDemo(const FrontDemo&) = delete;
    FrontDemo& operator=(const FrontDemo&) = delete;
    explicit FrontDemo(const std::string& group);
    ~FrontDemo();  // SIGTERM and a wait if it still runs

    const std::string& socket_path() const { return socket_; }
    const std::string& job_log() const { return job_log_; }
    ChildProcess& process() { return *process_; }
    std::string log() const { return process_->log(); }

private:
    TempDir dir_;
    std::string socket_;
    std::string job_log_;
    std::unique_ptr<ChildProcess> process_;
};

void check_hello(const FrontClient& client);
void check_echo_one_mib(const FrontClient& client);
// GET /work?ms=0&id=<id>: 202 with its JSON, then exactly one `done <id>` line.
void check_job_done(const FrontClient& client, const std::string& job_log, const std::string& id);
void check_sequential(const FrontClient& client, int requests);  // alternating / and /work?ms=0
void check_not_found(const FrontClient& client);

// What clients saw around a graceful stop.
struct StopMeasure {
    std::size_t before_2xx = 0;     // answered before the signal, all as expected
    std::map<int, std::size_t> after;  // answered after it, by status (0: no answer)
    std::size_t jobs_accepted = 0;  // 202s, each with exactly one done line
    std::size_t retried = 0;        // GETs a client sent again (see http_front_client)
    std::string summary;            // one line for the test output and the docs
};

// `clients` threads send `total` requests (even ones /work?ms=20, odd ones /) through
// `client`; once `signal_after` have been answered, SIGTERM to the demo. Asserts: every
// answer before the signal is 2xx with its expected body; every answer after it is 2xx or
// has a status in `allowed_after` (0 = no answer); every 202'd job has exactly one done line
// and no other job ran; the demo exits 0. Prints and returns the measure.
StopMeasure check_graceful_stop(const std::string& name, const FrontClient& client, FrontDemo& demo,
                                const std::set<int>& allowed_after, unsigned clients = 4, std::size_t total = 400,
                                std::size_t signal_after = 150);

}  // namespace testing_support
}  // namespace fcgihost
