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

#include "fcgihost/background_queue.hpp"
#include "fcgihost/durable_queue.hpp"
#include "fcgihost/options.hpp"
#include "fcgihost/router.hpp"
#include "fcgihost/status.hpp"

#include <functional>
#include <memory>
#include <string>

namespace fcgihost {

// Exit statuses of run() and run_main(), beside 1 (could not start) and 2 (bad flag or store).
constexpr int kExitDrained = 0;
constexpr int kExitWorkLost = 3;  // a job was cancelled or abandoned, or a request left unfinished

class Host {
public:
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    // Throws StoreError if --job-store names a store that cannot be opened.
    // Reads NOTIFY_SOCKET and removes it from the environment: construct the Host before
    // starting any thread, since unsetenv races with getenv in other threads.
    explicit Host(HostOptions options);
    ~Host();

    // Add routes before run(); the router is read-only once requests are served.
    Router& router();
    // Handlers queue jobs here; only the host cancels or abandons them, during the drain.
    BackgroundQueue& jobs();
    const HostOptions& options() const;

    // Durable jobs (durable_queue.hpp). Register every kind before run(). Without
    // --job-store, durable() refuses every job with no_store.
    void add_durable_kind(const std::string& kind, DurableHandler handler);
    DurableQueue& durable();

    // Opens the listener; if it cannot, logs one line and throws (a std::runtime_error;
    // run_main turns it into exit status 1). Otherwise starts the workers, the durable
    // runner and the request threads, tells systemd READY=1, serves until a stop signal and
    // runs the drain. Returns kExitDrained, or kExitWorkLost when work was lost. When a
    // request thread or a job still runs after the drain, the process cannot tear down
    // cleanly: run() then logs the summary and ends the process with _exit(status) itself.
    // Preconditions (run_main sees to both): its signal handlers are installed, and
    // FCGX_Init() succeeded. Call it once.
    int run();

    StatusSnapshot status() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The whole main(): first opens /dev/null on any of fds 0-2 that is closed (exit 1 if it
// cannot); parses the host's flags plus the application's (add_flags may be null), prints
// --help, reports a bad flag in one line with exit 2 before any socket is opened; installs
// the signal handlers, initialises libfcgi, lets `setup` add routes, runs. Returns what
// run() returns; 1 when the listener cannot be opened; 2 for a bad flag or a store that
// cannot be opened.
int run_main(int argc, char** argv, const std::string& program, const std::function<void(OptionSet&)>& add_flags,
             const std::function<void(Host&)>& setup, HostOptions defaults = {});

}  // namespace fcgihost
