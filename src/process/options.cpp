// The host's flag table: one flag per HostOptions member. Each --help default is printed
// from the member's current value, so the member initialisers in options.hpp are the only
// copy of a default.
#include "fcgihost/options.hpp"

#include "fastcgi/socket_owner.hpp"

#include <stdexcept>

namespace fcgihost {
namespace {

// "off" or "" turns a path off; anything else must be an absolute URL path.
std::string parse_path_or_off(const std::string& text) {
    if (text.empty() || text == "off") return std::string();
    if (text[0] != '/') throw std::invalid_argument("expected a path starting with / or off");
    return text;
}

const char* policy_name(WorkerPolicy policy) {
    switch (policy) {
        case WorkerPolicy::normal: return "normal";
        case WorkerPolicy::batch: return "batch";
        case WorkerPolicy::idle: return "idle";
        case WorkerPolicy::adaptive: return "adaptive";
    }
    return "adaptive";
}

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
    }
    return "info";
}

}  // namespace

void add_host_options(OptionSet& set, HostOptions& o) {
    set.add("threads", "N", o.threads == 0 ? "2 per core" : std::to_string(o.threads), "request threads", [&o](const std::string& v) {
        o.threads = static_cast<unsigned>(parse_count(v, 1, 1024));
    });
    set.add("workers", "N", std::to_string(o.workers),
            "background worker threads (0: none; durable jobs are only enqueued here)", [&o](const std::string& v) {
                o.workers = static_cast<unsigned>(parse_count(v, 0, 1024));
            });
    set.add("queue-capacity", "N", std::to_string(o.queue_capacity), "jobs that may wait to start",
            [&o](const std::string& v) { o.queue_capacity = parse_count(v, 1, 100000000); });
    set.add("max-body", "SIZE", format_size(o.max_body), "largest request body (at most 1G); larger gets 413",
            [&o](const std::string& v) {
                // A body is held in memory whole, twice for a moment (as read, and as the
                // handler's copy): a limit past what memory can hold is no limit.
                const std::size_t size = parse_size(v);
                if (size > std::size_t(1024) * 1024 * 1024) throw std::invalid_argument("at most 1G (a body is held in memory)");
                o.max_body = size;
            });
    set.add("drain-timeout", "DURATION", format_duration(o.drain_timeout), "time jobs get after a stop signal before cancel",
            [&o](const std::string& v) { o.drain_timeout = parse_duration(v); });
    set.add("cancel-grace", "DURATION", format_duration(o.cancel_grace), "time cancelled jobs get to return before exit",
            [&o](const std::string& v) { o.cancel_grace = parse_duration(v); });
    set.add("io-timeout", "DURATION", format_duration(o.io_timeout), "deadline for one request's whole exchange with the web server",
            [&o](const std::string& v) {
                o.io_timeout = parse_duration(v);
                if (o.io_timeout.count() < 1) throw std::invalid_argument("must be at least 1ms");
            });
    set.add("reload-timeout", "DURATION", format_duration(o.reload_timeout),
            "time a successor started by SIGUSR2 gets to serve", [&o](const std::string& v) {
                o.reload_timeout = parse_duration(v);
                if (o.reload_timeout.count() < 1) throw std::invalid_argument("must be at least 1ms");
            });
    set.add("pid-file", "PATH", o.pid_file, "file naming the pid of the process that serves (replaced on reload)",
            [&o](const std::string& v) {
                if (v.empty()) throw std::invalid_argument("empty path");
                o.pid_file = v;
            });
    set.add("socket", "PATH", o.socket_path, "create and listen on this unix socket",
            [&o](const std::string& v) {
                if (v.empty()) throw std::invalid_argument("empty path");
                o.socket_path = v;
            });
    set.add("socket-mode", "MODE", format_mode(o.socket_mode), "permissions of the --socket file",
            [&o](const std::string& v) { o.socket_mode = parse_mode(v); });
    set.add("socket-owner", "USER[:GROUP]", o.socket_owner, "owner of the --socket file",
            [&o](const std::string& v) {
                if (!v.empty()) parse_socket_owner(v);
                o.socket_owner = v;
            });
    set.add("listen", "HOST:PORT", o.listen, "listen on TCP (FCGI_WEB_SERVER_ADDRS limits peers)",
            [&o](const std::string& v) {
                std::size_t colon = v.rfind(':');
                if (colon == std::string::npos || colon == 0) throw std::invalid_argument("expected HOST:PORT");
                parse_count(v.substr(colon + 1), 1, 65535);
                o.listen = v;
            });
    set.add_switch("allow-any-peer",
                   "let --listen take FastCGI from any host (without it, a non-loopback address needs "
                   "FCGI_WEB_SERVER_ADDRS)",
                   o.allow_any_peer, [&o](bool on) { o.allow_any_peer = on; });
    set.add("backlog", "N", std::to_string(o.backlog), "listen backlog of a socket this process creates",
            [&o](const std::string& v) { o.backlog = static_cast<int>(parse_count(v, 1, 65535)); });
    set.add("status-path", "PATH", o.status_path.empty() ? "off" : o.status_path,
            "path that answers the status page (JSON; ?format=prometheus)",
            [&o](const std::string& v) { o.status_path = parse_path_or_off(v); });
    set.add("ping-path", "PATH", o.ping_path.empty() ? "off" : o.ping_path, "path that answers pong",
            [&o](const std::string& v) { o.ping_path = parse_path_or_off(v); });
    set.add("worker-nice", "N", std::to_string(o.worker_nice), "nice increment of worker threads (0-19)",
            [&o](const std::string& v) { o.worker_nice = static_cast<int>(parse_count(v, 0, 19)); });
    set.add("worker-policy", "POLICY", policy_name(o.worker_policy),
            "scheduling of worker threads: adaptive (batch, then idle once a job has used "
            "--worker-demote-after of CPU), batch, idle (only CPU time nothing else wants) or normal",
            [&o](const std::string& v) {
                if (v == "adaptive") o.worker_policy = WorkerPolicy::adaptive;
                else if (v == "batch") o.worker_policy = WorkerPolicy::batch;
                else if (v == "idle") o.worker_policy = WorkerPolicy::idle;
                else if (v == "normal") o.worker_policy = WorkerPolicy::normal;
                else throw std::invalid_argument("expected adaptive, batch, idle or normal");
            });
    set.add("worker-demote-after", "DURATION", format_duration(o.worker_demote_after),
            "adaptive: CPU time a job uses at batch before its worker drops to idle", [&o](const std::string& v) {
                o.worker_demote_after = parse_duration(v);
                if (o.worker_demote_after.count() < 1) throw std::invalid_argument("must be at least 1ms");
            });
    set.add("log-level", "LEVEL", level_name(o.log_level), "debug, info, warn or error", [&o](const std::string& v) {
        if (v == "debug") o.log_level = LogLevel::debug;
        else if (v == "info") o.log_level = LogLevel::info;
        else if (v == "warn") o.log_level = LogLevel::warn;
        else if (v == "error") o.log_level = LogLevel::error;
        else throw std::invalid_argument("expected debug, info, warn or error");
    });
    add_durable_options(set, o.durable);
}

}  // namespace fcgihost
