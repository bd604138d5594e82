// Testing kit: run handlers the way the server does, with no socket, no web server and
// no threads, and hold the jobs they queue until the test runs them.
//
//     fcgihost::testing::ManualQueue jobs;
//     fcgihost::Router router;
//     add_my_routes(router, jobs);
//     fcgihost::Response r = fcgihost::testing::run(router, fcgihost::testing::RequestBuilder("GET", "/work?id=7"));
//     // r.status() == 202, jobs.names() == {"work:7"}
//     jobs.run_all();  // the jobs run here, on the test's thread; then check their effect
//
// CppUnit assertions that print status and body on failure are in testing_cppunit.hpp.
#pragma once

#include "fcgihost/background_queue.hpp"
#include "fcgihost/request.hpp"
#include "fcgihost/response.hpp"
#include "fcgihost/router.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <deque>
#include <string>
#include <vector>

namespace fcgihost {
namespace testing {

// Builds the FastCGI params a web server would send for one request.
class RequestBuilder {
public:
    // `target` is the request URI, query included ("/work?ms=5&id=a%20b").
    explicit RequestBuilder(std::string method = "GET", std::string target = "/");

    RequestBuilder& header(const std::string& name, const std::string& value);  // "X-Trace-Id" -> HTTP_X_TRACE_ID
    RequestBuilder& body(std::string body, const std::string& content_type = "");  // sets CONTENT_LENGTH
    RequestBuilder& param(const std::string& name, const std::string& value);      // any raw param, last wins
    RequestBuilder& remote_addr(const std::string& address);

    NameValues params() const;
    // Throws RequestError as the server would (bad percent-encoding: 400).
    Request build() const;
    operator Request() const { return build(); }

private:
    std::string method_;
    std::string target_;
    std::string body_;
    NameValues extra_;  // headers and raw params, in order
};

// The response the server would write: a RequestError becomes its status, any other
// exception a 500 with the server's generic body. Nothing is logged.
Response run(const Router& router, const Request& request);
Response run(const Handler& handler, const Request& request);
Response run(const Router& router, const RequestBuilder& request);

// A BackgroundQueue whose jobs wait until the test runs them, one by one or all at once,
// on the calling thread. Not thread-safe: it is for single-threaded tests.
class ManualAsync;

class ManualQueue : public BackgroundQueue {
public:
    ManualQueue(const ManualQueue&) = delete;
    ManualQueue& operator=(const ManualQueue&) = delete;
    ManualQueue();
    ~ManualQueue();

    // accepted, or full at capacity, or stopping after set_stopping(true); refusals are counted.
    QueueResult queue(std::string name, Job job) override;
    // Held until run_async(); same refusals as queue() (capacity counts blocking jobs only).
    QueueResult queue_async(std::string name, AsyncJob job) override;

    std::size_t size() const { return jobs_.size(); }
    std::vector<std::string> names() const;      // waiting jobs, oldest first
    std::size_t rejected() const { return rejected_; }

    // Runs the oldest job with the token below. Returns false if there was none. An
    // exception from the job reaches the caller (the real queue would log and count it;
    // JobCancelled as cancelled, anything else as failed); the job is gone either way.
    bool run_next();
    // Runs jobs until none is left, including jobs that jobs queue. Returns how many ran.
    std::size_t run_all();
    // Drops every waiting job without running it; returns how many.
    std::size_t discard_all();

    void set_capacity(std::size_t capacity) { capacity_ = capacity; }
    void set_stopping(bool stopping) { stopping_ = stopping; }

    // Asynchronous jobs, on the kit's own io_context and clock (testing_async.cpp), on the
    // calling thread. run_async() starts the async jobs queued so far and runs ready
    // handlers until none is left (returns how many ran). advance() moves the clock:
    // sleep_for() waits due by then complete, oldest deadline first, then run_async(). No
    // real time passes. cancel_async() is the drain deadline: tokens().cancel(), cancel
    // callbacks run, pending sleeps complete with operation_aborted. A handler's exception
    // fails its job, as in the real queue (it does not reach the test).
    std::size_t run_async();
    std::size_t advance(std::chrono::steady_clock::duration duration);
    std::size_t cancel_async();
    boost::asio::io_context& io();
    std::size_t async_pending() const;    // started or queued, not ended
    std::size_t async_completed() const;
    std::size_t async_failed() const;     // failed or dropped without completing
    std::size_t async_cancelled() const;  // gave up, or ended after cancel_async()
    std::vector<std::string> async_failures() const;  // "name: why", in order

    // Drives the token that jobs get: request_stop() for stopping(), cancel() for cancelled().
    CancellationSource& tokens() { return tokens_; }

private:
    struct Entry {
        std::string name;
        Job job;
    };
    std::deque<Entry> jobs_;
    std::size_t capacity_ = static_cast<std::size_t>(-1);
    bool stopping_ = false;
    std::size_t rejected_ = 0;
    CancellationSource tokens_;
    std::unique_ptr<ManualAsync> async_;  // the asynchronous side
};

}  // namespace testing
}  // namespace fcgihost
