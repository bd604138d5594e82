#include "support/status_load.hpp"

#include "support/fcgi_client.hpp"
#include "support/http_client.hpp"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace fcgihost {
namespace testing_support {
namespace {

// The "pid" of the demo's /status JSON; 0 if absent.
long pid_in(const std::string& json) {
    const std::string label = "\"pid\":";
    const std::size_t at = json.find(label);
    return at == std::string::npos ? 0 : std::strtol(json.c_str() + at + label.size(), nullptr, 10);
}

class FcgiStatusClient : public StatusClient {
public:
    FcgiStatusClient(std::string socket, bool kept) : socket_(std::move(socket)), kept_(kept) {}
    StatusAnswer ask() override {
        if (!kept_) return answer(fcgi_get(socket_, "/status"));
        const bool reused = conn_ && reused_;
        try {
            if (!conn_) open();
            return send();
        } catch (const FcgiError&) {
            conn_.reset();
            if (!reused) throw;
        }
        try {
            open();
            return send();
        } catch (const FcgiError&) {
            conn_.reset();
            throw;
        }
    }

private:
    static StatusAnswer answer(const FcgiResponse& r) { return StatusAnswer{r.status, r.body}; }
    StatusAnswer send() {
        const FcgiResponse r = conn_->request(params_, "", true);
        reused_ = true;
        return answer(r);
    }
    void open() {
        conn_.reset(new FcgiConnection(FcgiConnection::connect_unix(socket_)));
        reused_ = false;
    }

    const std::string socket_;
    const bool kept_;
    const FcgiParams params_ = cgi_params("GET", "/status");
    std::unique_ptr<FcgiConnection> conn_;
    bool reused_ = false;
};

class HttpStatusClient : public StatusClient {
public:
    HttpStatusClient(std::string host, int port, bool kept) : host_(std::move(host)), port_(port), kept_(kept) {}
    StatusAnswer ask() override {
        if (!kept_) {
            HttpResponse r = http_get(host_, port_, "/status");
            return StatusAnswer{r.status, r.body};
        }
        if (!conn_) conn_.reset(new HttpConnection(host_, port_, std::chrono::seconds(20)));
        HttpResponse r;
        try {
            r = conn_->request("GET", "/status");
        } catch (const HttpError&) {
            conn_.reset();
            throw;
        }
        if (strcasecmp(r.header("Connection").c_str(), "close") == 0) conn_.reset();
        return StatusAnswer{r.status, r.body};
    }

private:
    const std::string host_;
    const int port_;
    const bool kept_;
    std::unique_ptr<HttpConnection> conn_;
};

}  // namespace

StatusClientFactory fcgi_status_client(const std::string& socket) {
    return [socket](bool kept) { return std::unique_ptr<StatusClient>(new FcgiStatusClient(socket, kept)); };
}

StatusClientFactory http_status_client(const std::string& host, int port) {
    return [host, port](bool kept) { return std::unique_ptr<StatusClient>(new HttpStatusClient(host, port, kept)); };
}

StatusLoad::StatusLoad(StatusClientFactory client, unsigned fresh, unsigned kept) : client_(std::move(client)) {
    for (unsigned i = 0; i < fresh + kept; ++i) threads_.emplace_back([this, i, fresh] { run(i >= fresh); });
}

StatusLoad::~StatusLoad() { stop(); }

void StatusLoad::stop() {
    running_ = false;
    for (std::thread& t : threads_)
        if (t.joinable()) t.join();
}

bool StatusLoad::answered_by(long pid) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::find(pids_.begin(), pids_.end(), pid) != pids_.end();
}

std::string StatusLoad::failures() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failures_;
}

void StatusLoad::record(const StatusAnswer& a, long long ms, bool kept) {
    const long pid = pid_in(a.body);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (a.status < 200 || a.status > 299 || pid <= 0) {
            failures_ += std::string(kept ? "kept: " : "fresh: ") + "status " + std::to_string(a.status) + " " +
                         a.body.substr(0, 80) + "; ";
        }
        if (std::find(pids_.begin(), pids_.end(), pid) == pids_.end()) pids_.push_back(pid);
    }
    long long longest = longest_ms_.load();
    while (ms > longest && !longest_ms_.compare_exchange_weak(longest, ms)) {
    }
    ++answers_;
}

void StatusLoad::fail(const std::string& what, bool kept) {
    std::lock_guard<std::mutex> lock(mutex_);
    failures_ += std::string(kept ? "kept: " : "fresh: ") + what + "; ";
}

void StatusLoad::run(bool kept) {
    // Exceptions stay on this thread: every one becomes a recorded failure.
    std::unique_ptr<StatusClient> client;
    try {
        client = client_(kept);
    } catch (const std::exception& e) {
        fail(e.what(), kept);
        return;
    }
    while (running_) {
        const auto sent = std::chrono::steady_clock::now();
        try {
            const StatusAnswer a = client->ask();
            record(a, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent)
                          .count(),
                   kept);
        } catch (const std::exception& e) {
            fail(e.what(), kept);
        }
    }
}

}  // namespace testing_support
}  // namespace fcgihost
