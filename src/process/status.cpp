#include "fcgihost/status.hpp"

#include <cstdio>
#include <sstream>

namespace fcgihost {

std::string status_json(const StatusSnapshot& s) {
    char uptime[32];
    std::snprintf(uptime, sizeof uptime, "%.3f", s.uptime_seconds);
    std::ostringstream out;
    out << "{\"state\":\"" << to_string(s.state) << "\",\"pid\":" << s.pid << ",\"reload_generation\":" << s.reload_generation
        << ",\"predecessor_pid\":" << s.predecessor_pid << ",\"uptime_seconds\":" << uptime
        << ",\"drain_deadline_left_ms\":" << s.drain_deadline_left_ms
        << ",\"requests\":{\"served\":" << s.requests.served << ",\"active\":" << s.requests.active
        << ",\"handler_errors\":" << s.requests.handler_errors << ",\"bad_requests\":" << s.requests.bad_requests
        << ",\"connections\":" << s.requests.connections << ",\"threads\":" << s.request_threads << "}"
        << ",\"jobs\":{\"queued\":" << s.jobs.queued << ",\"running\":" << s.jobs.running
        << ",\"accepted\":" << s.jobs.accepted << ",\"completed\":" << s.jobs.completed
        << ",\"failed\":" << s.jobs.failed << ",\"rejected\":" << (s.jobs.rejected_full + s.jobs.rejected_stopping + s.jobs.rejected_no_workers)
        << ",\"rejected_full\":" << s.jobs.rejected_full << ",\"rejected_stopping\":" << s.jobs.rejected_stopping
        << ",\"rejected_no_workers\":" << s.jobs.rejected_no_workers
        << ",\"cancelled\":" << s.jobs.cancelled << ",\"abandoned\":" << s.jobs.abandoned
        << ",\"capacity\":" << s.jobs.capacity << ",\"high_water\":" << s.jobs.high_water
        << ",\"async_running\":" << s.jobs.async_running << ",\"dropped\":" << s.jobs.dropped
        << ",\"workers\":" << s.workers << "}";
    if (s.durable_enabled) {
        out << ",\"durable\":{\"waiting\":" << s.durable.waiting << ",\"scheduled\":" << s.durable.scheduled
            << ",\"running\":" << s.durable.running << ",\"retrying\":" << s.durable.retrying
            << ",\"dead\":" << s.durable.dead << "}";
    }
    out << "}\n";
    return out.str();
}

namespace {

void metric(std::ostringstream& out, const char* name, const char* type, const char* help, double value,
            const std::string& labels = "") {
    out << "# HELP fcgihost_" << name << " " << help << "\n# TYPE fcgihost_" << name << " " << type << "\n"
        << "fcgihost_" << name << labels << " " << value << "\n";
}

}  // namespace

std::string status_prometheus(const StatusSnapshot& s) {
    std::ostringstream out;
    out.precision(15);
    out << "# HELP fcgihost_state Current state (1 for the current one).\n# TYPE fcgihost_state gauge\n";
    for (HostState st : {HostState::running, HostState::draining, HostState::cancelling, HostState::stopped}) {
        out << "fcgihost_state{state=\"" << to_string(st) << "\"} " << (st == s.state ? 1 : 0) << "\n";
    }
    metric(out, "uptime_seconds", "gauge", "Seconds since start.", s.uptime_seconds);
    metric(out, "drain_deadline_left_seconds", "gauge", "Seconds left before the drain deadline.",
           static_cast<double>(s.drain_deadline_left_ms) / 1000.0);
    metric(out, "requests_served_total", "counter", "Responses written.", static_cast<double>(s.requests.served));
    metric(out, "requests_active", "gauge", "Requests being handled.", static_cast<double>(s.requests.active));
    metric(out, "requests_handler_errors_total", "counter", "Handlers that threw (answered 500).",
           static_cast<double>(s.requests.handler_errors));
    metric(out, "requests_bad_total", "counter", "Requests refused with 4xx before a handler ran.",
           static_cast<double>(s.requests.bad_requests));
    metric(out, "connections", "gauge", "Open web server connections.", static_cast<double>(s.requests.connections));
    metric(out, "jobs_queued", "gauge", "Jobs waiting to start.", static_cast<double>(s.jobs.queued));
    metric(out, "jobs_running", "gauge", "Jobs running.", static_cast<double>(s.jobs.running));
    metric(out, "jobs_completed_total", "counter", "Jobs that returned.", static_cast<double>(s.jobs.completed));
    metric(out, "jobs_failed_total", "counter", "Jobs that threw.", static_cast<double>(s.jobs.failed));
    out << "# HELP fcgihost_jobs_rejected_total Jobs refused by queue().\n# TYPE fcgihost_jobs_rejected_total counter\n"
        << "fcgihost_jobs_rejected_total{reason=\"full\"} " << s.jobs.rejected_full << "\n"
        << "fcgihost_jobs_rejected_total{reason=\"stopping\"} " << s.jobs.rejected_stopping << "\n"
        << "fcgihost_jobs_rejected_total{reason=\"no_workers\"} " << s.jobs.rejected_no_workers << "\n";
    metric(out, "jobs_cancelled_total", "counter", "Jobs that returned after the drain deadline cancelled them.",
           static_cast<double>(s.jobs.cancelled));
    metric(out, "jobs_abandoned_total", "counter", "Jobs not started, or not finished, when the drain gave up.",
           static_cast<double>(s.jobs.abandoned));
    metric(out, "jobs_queue_capacity", "gauge", "Queue capacity.", static_cast<double>(s.jobs.capacity));
    metric(out, "jobs_queue_high_water", "gauge", "Most jobs ever waiting at once.",
           static_cast<double>(s.jobs.high_water));
    metric(out, "jobs_async_running", "gauge", "Asynchronous jobs pending (also in jobs_running).",
           static_cast<double>(s.jobs.async_running));
    metric(out, "jobs_dropped_total", "counter", "Asynchronous jobs whose context died unfinished (also failed).",
           static_cast<double>(s.jobs.dropped));
    if (s.durable_enabled) {
        out << "# HELP fcgihost_durable_jobs Durable jobs in the store by state.\n# TYPE fcgihost_durable_jobs gauge\n";
        const std::pair<const char*, std::uint64_t> states[] = {{"waiting", s.durable.waiting},
            {"scheduled", s.durable.scheduled}, {"running", s.durable.running}, {"retrying", s.durable.retrying},
            {"dead", s.durable.dead}};
        for (const auto& st : states) out << "fcgihost_durable_jobs{state=\"" << st.first << "\"} " << st.second << "\n";
    }
    return out.str();
}

}  // namespace fcgihost
