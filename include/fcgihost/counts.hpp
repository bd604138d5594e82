// Counts: the plain counters a status page shows, one struct per part of the process.
// Each layer fills its own; status.hpp puts them together. No dependency, so that every
// layer can include it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fcgihost {

// Requests, as the request threads count them.
struct ServerCounts {
    std::uint64_t served = 0;        // responses written (any status)
    std::uint64_t active = 0;        // requests being handled now
    std::uint64_t handler_errors = 0;  // handlers that threw (answered 500)
    std::uint64_t bad_requests = 0;  // answered 4xx before the handler ran
    std::uint64_t connections = 0;   // connections open now
};

// A consistent snapshot of the counters, all taken under one lock.
struct JobCounts {
    std::size_t queued = 0;
    std::size_t running = 0;
    std::uint64_t accepted = 0;
    std::uint64_t completed = 0;
    std::uint64_t failed = 0;
    std::uint64_t rejected_full = 0;
    std::uint64_t rejected_stopping = 0;
    std::uint64_t rejected_no_workers = 0;  // refused by a process run with --workers 0
    std::uint64_t cancelled = 0;   // gave up (JobCancelled), or ended after cancel() reached them
    std::uint64_t abandoned = 0;   // never started before cancel(), or still running at abandon_rest()
    std::size_t capacity = 0;
    std::size_t high_water = 0;    // most jobs ever waiting at once
    std::uint64_t destroy_errors = 0;  // jobs whose captures threw while being destroyed
    std::size_t async_running = 0;     // asynchronous jobs pending (also counted in running)
    std::uint64_t dropped = 0;         // asynchronous jobs whose context died unfinished (also in failed)
};

// Durable jobs: rows in the store by state (every process sharing it).
struct StoredCounts {
    std::uint64_t waiting = 0, scheduled = 0, running = 0, retrying = 0, dead = 0;
    std::uint64_t left() const { return waiting + scheduled + running + retrying; }
};

}  // namespace fcgihost
