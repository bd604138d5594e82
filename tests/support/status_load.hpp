// StatusLoad: the load of the reload tests. Client threads send GET /status without a
// pause until stop(), some each over a fresh connection, some over a connection they keep,
// and record the pid of every answer (the demo's /status names the process that served
// it), the longest request, and every failure (not 2xx, no pid, any error). How a request
// travels (FastCGI straight to the socket, or HTTP through nginx or Apache) is the
// client's: see fcgi_status_client() and http_status_client().
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fcgihost {
namespace testing_support {

struct StatusAnswer {
    int status = 0;
    std::string body;
};

// One client thread's connection. ask() sends one GET /status and returns the answer, or
// throws std::exception for a request that got none (reset, refused, timed out).
class StatusClient {
public:
    virtual ~StatusClient() = default;
    virtual StatusAnswer ask() = 0;
};
using StatusClientFactory = std::function<std::unique_ptr<StatusClient>(bool kept)>;

// FastCGI to a unix socket. A kept connection the server closed while idle (EOF before any
// byte of an answer, on a connection that served before) is opened again and the request
// sent again, as nginx does for a reused connection (fastcgi_next_upstream error).
StatusClientFactory fcgi_status_client(const std::string& socket);
// HTTP/1.1 to host:port (a front end). A kept connection that the front end closed (after
// "Connection: close", or idle) is opened again only before a request: a request sent and
// not answered fails, as no front end under test closes a busy client connection.
StatusClientFactory http_status_client(const std::string& host, int port);

class StatusLoad {
public:
    StatusLoad(const StatusLoad&) = delete;
    StatusLoad& operator=(const StatusLoad&) = delete;
    StatusLoad(StatusClientFactory client, unsigned fresh, unsigned kept);
    ~StatusLoad();
    void stop();  // waits for every thread to finish the request it is on

    bool answered_by(long pid) const;
    // Failures so far, each "fresh: what" or "kept: what", "; "-separated; "" if none.
    std::string failures() const;
    long long answers() const { return answers_.load(); }
    long long longest_ms() const { return longest_ms_.load(); }

private:
    void run(bool kept);
    void record(const StatusAnswer& a, long long ms, bool kept);
    void fail(const std::string& what, bool kept);

    const StatusClientFactory client_;
    std::atomic<bool> running_{true};
    std::atomic<long long> answers_{0};
    std::atomic<long long> longest_ms_{0};
    mutable std::mutex mutex_;
    std::vector<long> pids_;   // guarded by mutex_
    std::string failures_;     // guarded by mutex_
    std::vector<std::thread> threads_;
};

}  // namespace testing_support
}  // namespace fcgihost
