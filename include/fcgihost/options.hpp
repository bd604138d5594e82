// HostOptions: the host's own flags (--threads, --drain-timeout, ...), parsed by an
// OptionSet (option_set.hpp). Applications add their own flags next to the host's (the demo
// adds --job-log). The member initialisers below are the defaults, and the only copy of
// them: --help prints each from the member.
#pragma once

#include "fcgihost/durable_options.hpp"
#include "fcgihost/job.hpp"
#include "fcgihost/log.hpp"
#include "fcgihost/option_set.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>

namespace fcgihost {

struct HostOptions {
    unsigned threads = 0;                              // 0: two per core
    unsigned workers = 4;
    std::size_t queue_capacity = 1024;
    std::size_t max_body = 1024 * 1024;
    std::chrono::milliseconds drain_timeout{30000};
    std::chrono::milliseconds cancel_grace{5000};
    std::chrono::milliseconds io_timeout{30000};
    std::chrono::milliseconds reload_timeout{10000};   // SIGUSR2: how long a successor gets to serve
    std::string pid_file;                              // "" = none
    std::string socket_path;
    mode_t socket_mode = 0660;
    std::string socket_owner;                          // "user", "user:group" or ":group"
    std::string listen;                                // "HOST:PORT"
    int backlog = 1024;
    std::string status_path;                           // "" = off
    std::string ping_path;                             // "" = off
    int worker_nice = 10;
    WorkerPolicy worker_policy = WorkerPolicy::adaptive;
    std::chrono::milliseconds worker_demote_after{50};  // adaptive: a job's CPU time before SCHED_IDLE
    LogLevel log_level = LogLevel::info;
    bool allow_any_peer = false;                       // TCP on a non-loopback address without FCGI_WEB_SERVER_ADDRS
    DurableOptions durable;                            // --job-*
};

// Declares the host's flags (--threads, --drain-timeout, ...) bound to `options`.
void add_host_options(OptionSet& set, HostOptions& options);

}  // namespace fcgihost
