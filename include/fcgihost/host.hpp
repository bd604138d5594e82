// Host: a FastCGI responder process put together: listener, request threads, background
// jobs, status and ping paths, signals and the drain.
//
// Usage (a complete program):
//     int main(int argc, char** argv) {
//         return fcgihost::run_main(argc, argv, "myapp", nullptr, [](fcgihost::Host& host) {
//             fcgihost::BackgroundQueue& jobs = host.jobs();
//             host.router().get("/", [&jobs](const fcgihost::Request& req) {
//                 std::string user = req.query("user");
//                 jobs.queue("welcome-mail", [user](const fcgihost::CancellationToken&) { send_mail(user); });
//                 return fcgihost::Response::text(200, "hello\n");
//             });
//         });
//     }
#pragma once

#include "fcgihost/durable_queue.hpp"
#include "fcgihost/job_queue.hpp"
#include "fcgihost/options.hpp"
#include "fcgihost/router.hpp"
#include "fcgihost/shutdown.hpp"
#include "fcgihost/status.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

namespace fcgihost {

namespace durable { class DurableRunner; }

class Host {
public:
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    // Throws StoreError if --job-store names a store that cannot be opened.
    explicit Host(HostOptions options);
    ~Host();

    // Add routes before run(); the router is read-only once requests are served.
    Router& router() { return router_; }
    JobQueue& jobs() { return jobs_; }
    const HostOptions& options() const { return options_; }

    // Durable jobs (durable_queue.hpp). Register every kind before run(). Without
    // --job-store, durable() refuses every job with no_store.
    void add_durable_kind(const std::string& kind, DurableHandler handler);
    DurableQueue& durable();

    // Opens the listener, serves until a stop signal, drains. Returns the exit status:
    // kExitDrained, kExitWorkLost, or 1 when the listener cannot be opened. Preconditions:
    // block_stop_signals() ran before any thread was started, and FCGX_Init() succeeded.
    // When work is still running after the drain the process cannot tear down cleanly;
    // run() then ends it with _exit(status) itself, after the summary has been logged.
    int run();

    StatusSnapshot status() const;

private:
    Response dispatch(const Request& request) const;

    const HostOptions options_;
    Router router_;
    JobQueue jobs_;
    std::unique_ptr<durable::DurableRunner> durable_;  // null without --job-store
    std::unique_ptr<DurableQueue> no_store_;           // durable() without --job-store
    const std::chrono::steady_clock::time_point started_;
    std::atomic<const Server*> server_{nullptr};              // set while run() serves
    std::atomic<const ShutdownSequence*> sequence_{nullptr};  // set while run() serves
};

// The whole main(): parses the host's flags plus the application's (add_flags may be
// null), prints --help, reports a bad flag in one line with exit 2 before any socket is
// opened, blocks the stop signals, initialises libfcgi, lets `setup` add routes, runs.
int run_main(int argc, char** argv, const std::string& program, const std::function<void(OptionSet&)>& add_flags,
             const std::function<void(Host&)>& setup, HostOptions defaults = {});

}  // namespace fcgihost
