// Status: what the status path shows (docs/contract.md#status-and-logs), as JSON or Prometheus text.
#pragma once

#include "fcgihost/counts.hpp"

#include <string>

namespace fcgihost {

enum class HostState { running, draining, cancelling, stopped };
const char* to_string(HostState state);

struct StatusSnapshot {
    HostState state = HostState::running;
    double uptime_seconds = 0;
    long long drain_deadline_left_ms = 0;
    unsigned request_threads = 0;
    unsigned workers = 0;
    int pid = 0;
    unsigned reload_generation = 0;  // 0: started by hand; +1 per reload (SIGUSR2)
    long predecessor_pid = 0;        // the process that started this one on a reload; 0: none
    ServerCounts requests;
    JobCounts jobs;
    bool durable_enabled = false;  // --job-store given
    StoredCounts durable;          // rows in the store by state (every process sharing it)
};

std::string status_json(const StatusSnapshot& status);
// Prometheus text exposition format 0.0.4; every metric prefixed "fcgihost_".
std::string status_prometheus(const StatusSnapshot& status);

}  // namespace fcgihost
