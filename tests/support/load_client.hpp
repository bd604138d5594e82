// An HTTP load for end-to-end tests through a real web server: a plan of requests, run
// over kept HTTP/1.1 connections by a fixed number of client threads, and what each
// client saw. It measures and records; the tests decide what counts as a failure.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

namespace fcgihost {
namespace testing_support {

using LoadClock = std::chrono::steady_clock;

// One request of a load, planned before it starts.
struct Planned {
    std::string method;
    std::string target;
    std::string body;
    std::string expected_body;  // of a 2xx answer
    std::string job_id;         // "" unless the request queues a job
};

// One request as its client saw it.
struct Outcome {
    int status = 0;  // 0: no HTTP response at all; `error` says why
    bool body_matches = false;
    std::string error;
    LoadClock::time_point sent;
    LoadClock::time_point received;
};

bool is_2xx(const Outcome& o);
long long ms_between(LoadClock::time_point from, LoadClock::time_point to);

// `total` requests to the demo: even ones queue a job of `job_ms` (/work, id <prefix><i>),
// odd ones are GET /, or with `posts` every other odd one is a POST /echo (never retried by
// nginx unless the site allows it: see fastcgi_next_upstream in nginx/fcgihost.conf).
std::vector<Planned> mixed_plan(std::size_t total, const std::string& prefix, int job_ms, bool posts);

// Runs a plan on `clients` threads, each over one kept HTTP/1.1 connection (opened again
// after the server closes it or after an error). Each thread takes the next request of the
// plan, so every kind of request is in flight all along. A request that takes longer than
// `request_limit` fails alone; the load goes on.
class HttpLoad {
public:
    HttpLoad(const HttpLoad&) = delete;
    HttpLoad& operator=(const HttpLoad&) = delete;

    HttpLoad(const std::string& host, int port, unsigned clients, std::vector<Planned> plan,
             std::chrono::seconds request_limit);
    // A test that failed half-way must not wait for the rest of the plan (each request of
    // it could wait out the request limit): clients finish the request they are on and stop.
    ~HttpLoad();

    std::size_t completed() const { return completed_.load(); }
    const std::vector<Planned>& plan() const { return plan_; }

    // Waits for every request; outcome i belongs to plan()[i].
    const std::vector<Outcome>& join();

private:
    void client_main();

    const std::string host_;
    const int port_;
    const std::chrono::seconds request_limit_;
    const std::vector<Planned> plan_;
    std::vector<Outcome> outcomes_;  // slot i is written only by the thread that took request i
    std::atomic<std::size_t> next_{0};
    std::atomic<std::size_t> completed_{0};
    std::atomic<bool> abandoned_{false};
    std::vector<std::thread> threads_;
};

// Answers counted by kind: "2xx 990, 502 10, no response 0".
std::string tally(const std::vector<Outcome>& outcomes);

// The first failed request (not 2xx, or the wrong body), for a failure message; "none".
std::string first_failure(const std::vector<Planned>& plan, const std::vector<Outcome>& outcomes);

}  // namespace testing_support
}  // namespace fcgihost
