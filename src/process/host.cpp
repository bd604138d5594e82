#include "fcgihost/host.hpp"

#include "durable/durable_runner.hpp"
#include "durable/open_job_store.hpp"
#include "durable/store_address.hpp"
#include "fastcgi/listen_policy.hpp"
#include "fastcgi/listener.hpp"
#include "fastcgi/server.hpp"
#include "fcgihost/log.hpp"
#include "jobs/job_queue.hpp"
#include "process/reload.hpp"
#include "process/shutdown.hpp"
#include "process/signals.hpp"
#include "process/systemd_notify.hpp"

#include <fcgiapp.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

extern char** environ;

namespace fcgihost {
namespace {

unsigned default_threads() {
    unsigned cores = std::thread::hardware_concurrency();
    return 2 * (cores == 0 ? 1 : cores);
}

JobQueueOptions queue_options(const HostOptions& o) {
    JobQueueOptions q;
    q.capacity = o.queue_capacity;
    q.workers = o.workers;
    q.worker_nice = o.worker_nice;
    q.worker_policy = o.worker_policy;
    q.worker_demote_after = o.worker_demote_after;
    return q;
}

ListenerOptions listener_options(const HostOptions& o) {
    ListenerOptions l;
    l.socket_path = o.socket_path;
    l.socket_mode = o.socket_mode;
    l.socket_owner = o.socket_owner;
    l.listen = o.listen;
    l.backlog = o.backlog;
    l.allow_any_peer = o.allow_any_peer;
    return l;
}

HostOptions resolved(HostOptions o) {
    if (o.threads == 0) o.threads = default_threads();
    return o;
}

// Fds 0-2 the process was started without are opened on /dev/null. Otherwise the next fds
// opened (listener, epoll, stop eventfd) take those numbers: log lines meant for stderr go
// into one of them, and programs the process starts get them as stdio. An open fd is left
// as it is: fd 0 may be a listening socket handed over by spawn-fcgi or mod_fcgid.
bool reserve_standard_fds() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        // Not O_CLOEXEC: programs the process starts should find their stdio open too.
        int null_fd = open("/dev/null", O_RDWR);
        if (null_fd < 0) return false;
        if (null_fd != fd) {  // only if another thread opened an fd in between
            dup2(null_fd, fd);
            close(null_fd);
        }
    }
    return true;
}

}  // namespace

struct Host::Impl {
    explicit Impl(HostOptions options)
        : options_(resolved(std::move(options))),
          jobs_(queue_options(options_)),
          no_store_(durable::no_store_queue()),
          started_(std::chrono::steady_clock::now()) {}

    Response dispatch(const Request& request) const;
    StatusSnapshot status() const;
    int run();
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

Host::Host(HostOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    const HostOptions& options_ = impl_->options_;
    auto& durable_ = impl_->durable_;
    if (!options_.durable.store.empty()) {
        durable_ = std::make_unique<durable::DurableRunner>(
            open_job_store(options_.durable.store), options_.durable, options_.workers, options_.queue_capacity,
            detail::WorkerScheduling{options_.worker_nice, options_.worker_policy, options_.worker_demote_after});
    }
}

Host::~Host() = default;

Router& Host::router() { return impl_->router_; }
BackgroundQueue& Host::jobs() { return impl_->jobs_; }
const HostOptions& Host::options() const { return impl_->options_; }
StatusSnapshot Host::status() const { return impl_->status(); }
int Host::run() { return impl_->run(); }

void Host::add_durable_kind(const std::string& kind, DurableHandler handler) {
    if (impl_->durable_) impl_->durable_->add_kind(kind, std::move(handler));
}

DurableQueue& Host::durable() {
    return impl_->durable_ ? static_cast<DurableQueue&>(*impl_->durable_) : *impl_->no_store_;
}

Response Host::Impl::dispatch(const Request& request) const {
    if (!options_.status_path.empty() && request.path() == options_.status_path) {
        StatusSnapshot snapshot = status();
        if (request.query("format") == "prometheus") {
            return Response(200, status_prometheus(snapshot), "text/plain; version=0.0.4; charset=utf-8");
        }
        return Response::json(200, status_json(snapshot));
    }
    if (!options_.ping_path.empty() && request.path() == options_.ping_path) {
        return Response::text(200, "pong\n");
    }
    return router_.route(request);
}

StatusSnapshot Host::Impl::status() const {
    StatusSnapshot s;
    s.pid = static_cast<int>(getpid());
    s.reload_generation = reload_origin().generation;
    s.predecessor_pid = reload_origin().predecessor;
    s.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    s.request_threads = options_.threads;
    s.workers = options_.workers;
    s.jobs = jobs_.counts();
    if (durable_) {
        s.durable_enabled = true;
        try {
            s.durable = durable_->store().counts();
        } catch (const StoreError& e) {
            log_warn("status: ", e.what());
        }
    }
    if (const Server* server = server_.load()) s.requests = server->counts();
    if (const ShutdownSequence* sequence = sequence_.load()) {
        s.state = sequence->state();
        s.drain_deadline_left_ms = sequence->deadline_left().count();
    }
    return s;
}

int Host::Impl::run() {
    Listener listener = [this] {
        try {
            const ListenerOptions where = listener_options(options_);
            return reload_origin().ready_fd >= 0 ? Listener::open_for_successor(where) : Listener::open(where);
        } catch (const ListenerError& e) {
            log_error(e.what());
            throw;
        }
    }();
    log_info("listening on ", listener.description(), "; ", options_.threads, " request threads, ",
             options_.workers, " workers, queue capacity ", options_.queue_capacity, "; drain timeout ",
             options_.drain_timeout.count(), " ms, cancel grace ", options_.cancel_grace.count(), " ms");

    // A successor that cannot write --pid-file does not take over: the file would go on
    // naming the old process after it exits, and `kill -USR2 $(cat FILE)` would reach no
    // one, or whoever gets that pid next. It has accepted nothing yet, and the socket's path
    // is not its own before it serves: the old process serves on (it logs this exit).
    if (reload_origin().ready_fd >= 0 && !options_.pid_file.empty() && !write_pid_file(options_.pid_file)) {
        log_error("reload refused: --pid-file ", options_.pid_file, " cannot be written; pid ",
                  reload_origin().predecessor, " serves on");
        return 1;
    }
    jobs_.start();
    if (durable_) {
        durable_->start();
        log_info("durable jobs in ", redacted_store(options_.durable.store), "; retry base ", options_.durable.retry_base.count(),
                 " ms, max attempts ", options_.durable.max_attempts);
    }
    ServerOptions server_options;
    server_options.threads = options_.threads;
    server_options.max_body = options_.max_body;
    server_options.io_timeout = options_.io_timeout;
    Server server(listener, [this](const Request& r) { return dispatch(r); }, server_options);
    ShutdownSequence sequence(&server, jobs_, DrainOptions{options_.drain_timeout, options_.cancel_grace});
    if (durable_) sequence.add_participant(durable_.get());
    server_ = &server;
    sequence_ = &sequence;
    server.start();
    // Type=notify units: started once requests are served; stopping from the first signal.
    systemd_.notify("READY=1\nSTATUS=serving on " + listener.description());
    // A successor wrote it above, before telling its predecessor (which stops once told).
    if (!options_.pid_file.empty() && reload_origin().ready_fd < 0) write_pid_file(options_.pid_file);
    listener.own_path();  // a successor's from now on; its predecessor stops once told
    report_serving();
    ReloadController::Hooks hooks;
    hooks.on_serving = [this, &listener, &sequence](pid_t successor) { hand_over(successor, listener, sequence); };
    ReloadController reload(listener.fd(), systemd_.address_for_environment(), reload_origin().generation,
                            options_.reload_timeout, hooks);
    sequence.on_state_change([this, &reload](HostState state) {
        // On a reload the unit goes on (its main pid is the successor's now): no STOPPING=1.
        if (state == HostState::draining && !reload.handed_over()) {
            systemd_.notify("STOPPING=1\nSTATUS=draining background jobs");
        }
        if (state == HostState::cancelling) systemd_.notify("STATUS=drain deadline passed; cancelling jobs");
    });
    DrainReport report;
    {
        SignalWatcher watcher(
            [&sequence, &reload](int sig) {
                reload.stop();
                sequence.notify_signal(sig);
            },
            [&reload] { reload.request(); });
        report = sequence.run();
    }
    if (!reload.handed_over() && !options_.pid_file.empty()) remove_pid_file(options_.pid_file);
    if (!report.requests_finished || !report.workers_finished) {
        // Threads still run code that uses this stack; only leaving now is safe.
        _exit(report.exit_status);
    }
    reload.finish();
    server_ = nullptr;
    sequence_ = nullptr;
    return report.exit_status;
}

// On the reload thread, once the successor serves. systemd must take the successor for
// the unit's main process before this one exits, or it ends the service (and kills the
// successor) when this process's exit comes.
void Host::Impl::hand_over(int successor, Listener& listener, ShutdownSequence& sequence) {
    if (systemd_.enabled()) {
        systemd_.notify("MAINPID=" + std::to_string(successor) + "\nSTATUS=reloaded: pid " +
                        std::to_string(successor) + " serves");
        if (!systemd_.barrier(std::chrono::seconds(5))) {
            log_warn("reload: systemd did not confirm MAINPID=", successor, " within 5 s; draining anyway");
        }
    }
    listener.keep_path();
    sequence.request_stop("reload (successor pid " + std::to_string(successor) + " serves)");
}

int run_main(int argc, char** argv, const std::string& program, const std::function<void(OptionSet&)>& add_flags,
             const std::function<void(Host&)>& setup, HostOptions defaults) {
    remember_command_line(argc, argv);
    // Before the flags are parsed (they are not flags) and before any thread starts.
    take_reload_origin();
    if (!reserve_standard_fds()) {
        std::fprintf(stderr, "%s: cannot open /dev/null for a closed stdin, stdout or stderr: %s\n", program.c_str(),
                     std::strerror(errno));
        return 1;
    }
    HostOptions options = defaults;
    OptionSet flags;
    add_host_options(flags, options);
    if (add_flags) add_flags(flags);
    try {
        if (!flags.parse(argc, argv, environ)) {
            std::cout << flags.help(program);
            return 0;
        }
        if (!options.socket_path.empty() && !options.listen.empty()) {
            throw OptionError("--socket and --listen: give only one");
        }
        const std::string refusal = listen_policy_refusal(listener_options(options), std::getenv("FCGI_WEB_SERVER_ADDRS"));
        if (!refusal.empty()) throw OptionError(refusal);
    } catch (const OptionError& e) {
        std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
        return 2;
    }
    log_set_level(options.log_level);
    const std::string socket_warning = socket_directory_warning(options.socket_path);
    if (!socket_warning.empty()) log_warn(socket_warning);
    // Before FCGX_Init, which gives SIGUSR1 and SIGPIPE handlers of its own if they still
    // have the default action.
    if (const int err = install_signal_handlers()) {
        log_error("fatal: signal pipe: ", std::strerror(err));
        return 1;
    }
    if (FCGX_Init() != 0) {
        log_error("FCGX_Init failed");
        return 1;
    }
    try {
        // Before any thread starts: it reads and unsets NOTIFY_SOCKET.
        Host host(options);
        if (setup) setup(host);
        return host.run();
    } catch (const StoreError& e) {
        log_error(e.what());
        return 2;
    } catch (const ListenerError&) {
        return 1;  // already logged
    } catch (const std::exception& e) {
        log_error("fatal: ", e.what());
        return 1;
    }
}

}  // namespace fcgihost
