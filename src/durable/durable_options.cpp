#include "fcgihost/durable_options.hpp"

#include "fcgihost/durable_queue.hpp"
#include "durable/job_store.hpp"
#include "fcgihost/option_set.hpp"

namespace fcgihost {

void add_durable_options(OptionSet& set, DurableOptions& o) {
    set.add("job-store", "PATH", o.store.empty() ? "off" : o.store, "durable jobs' store: a SQLite file on local disk, or a PostgreSQL address (postgresql://... or a libpq keyword string); off: durable jobs refused",
            [&o](const std::string& v) { o.store = v == "off" ? std::string() : v; });
    set.add("job-retry-base", "DURATION", format_duration(o.retry_base), "delay before a failed durable job's first retry; doubles each time",
            [&o](const std::string& v) {
                o.retry_base = parse_duration(v);
                if (o.retry_base.count() < 1) throw std::invalid_argument("must be at least 1ms");
            });
    set.add("job-max-attempts", "N", std::to_string(o.max_attempts), "runs of a durable job before it is dead",
            [&o](const std::string& v) { o.max_attempts = static_cast<unsigned>(parse_count(v, 1, 1000)); });
    set.add("job-lease", "DURATION", format_duration(o.lease), "a claimed durable job not renewed this long runs elsewhere",
            [&o](const std::string& v) {
                o.lease = parse_duration(v);
                if (o.lease.count() < 1000) throw std::invalid_argument("must be at least 1s");
            });
}

const char* to_string(EnqueueStatus status) {
    switch (status) {
        case EnqueueStatus::accepted: return "accepted";
        case EnqueueStatus::duplicate: return "duplicate";
        case EnqueueStatus::full: return "full";
        case EnqueueStatus::stopping: return "stopping";
        case EnqueueStatus::unknown_kind: return "unknown_kind";
        case EnqueueStatus::too_large: return "too_large";
        case EnqueueStatus::no_store: return "no_store";
        case EnqueueStatus::store_error: return "store_error";
    }
    return "unknown";
}

const char* to_string(StoredState state) {
    switch (state) {
        case StoredState::waiting: return "waiting";
        case StoredState::scheduled: return "scheduled";
        case StoredState::running: return "running";
        case StoredState::retrying: return "retrying";
        case StoredState::dead: return "dead";
    }
    return "unknown";
}

std::optional<StoredState> parse_stored_state(const std::string& text) {
    for (StoredState s : {StoredState::waiting, StoredState::scheduled, StoredState::running, StoredState::retrying,
                          StoredState::dead}) {
        if (text == to_string(s)) return s;
    }
    return std::nullopt;
}

std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace fcgihost
