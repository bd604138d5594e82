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
#include "fcgihost/listener.hpp"
#include "fcgihost/options.hpp"
#include "fcgihost/router.hpp"
#include "fcgihost/shutdown.hpp"
#include "fcgihost/status.hpp"
#include "fcgihost/systemd_notify.hpp"

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
    // Reads NOTIFY_SOCKET and removes it from the environment (see SystemdNotifier): construct
    // the Host before starting any thread, since unsetenv races with getenv in other threads.
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
    // install_signal_handlers() ran, and FCGX_Init() succeeded.
    // When work is still running after the drain the process cannot tear down cleanly;
    // run() then ends it with _exit(status) itself, after the summary has been logged.
    int run();

    StatusSnapshot status() const;

private:
    Response dispatch(const Request& request) const;
    void hand_over(int successor, Listener& listener, ShutdownSequence& sequence);

    const SystemdNotifier systemd_;  // first: takes NOTIFY_SOCKET before anything else runs
    const HostOptions options_;
    Router router_;
    JobQueue jobs_;
    std::unique_ptr<durable::DurableRunner> durable_;  // null without --job-store
    std::unique_ptr<DurableQueue> no_store_;           // durable() without --job-store
    const std::chrono::steady_clock::time_point started_;
    std::atomic<const Server*> server_{nullptr};              // set while run() serves
    std::atomic<const ShutdownSequence*> sequence_{nullptr};  // set while run() serves
};

// The whole main(): first opens /dev/null on any of fds 0-2 that is closed (exit 1 if it
// cannot); parses the host's flags plus the application's (add_flags may be null), prints
// --help, reports a bad flag in one line with exit 2 before any socket is opened; installs
// the signal handlers, initialises libfcgi, lets `setup` add routes, runs.
int run_main(int argc, char** argv, const std::string& program, const std::function<void(OptionSet&)>& add_flags,
             const std::function<void(Host&)>& setup, HostOptions defaults = {});

}  // namespace fcgihost
