// DurableQueue: jobs that survive a crash. A handler enqueues a job of a registered KIND
// with a payload of bytes; enqueue() returns only once the job is committed to the store
// (--job-store), so a SIGKILL, an OOM kill or a power cut after a 202 loses nothing: the
// next start runs it. Delivery is at least once: a job that was running when its process
// died runs again, so handlers must be idempotent (or check a unique key of their own).
//
//     host.add_durable_kind("mail", [](const fcgihost::DurableJob& job, const fcgihost::CancellationToken&) {
//         send_mail(fcgihost::decode_fields(job.payload).at("to"));  // throw to retry later
//     });
//     fcgihost::EnqueueResult r = host.durable().enqueue("mail", fcgihost::encode_fields({{"to", user}}));
//     if (!r.accepted()) return fcgihost::Response::text(503, "try again\n");
//
// A job that throws is retried with exponential backoff and jitter; past its last attempt
// it is dead: kept with its last error until an operator retries or deletes it
// (fcgihost-jobs). A job that returns after its token was cancelled (the drain deadline)
// goes back to the store without using an attempt.
#pragma once

#include "fcgihost/cancellation.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace fcgihost {

struct DurableJob {
    std::int64_t id = 0;   // the store's id, as enqueue() returned it
    std::string kind;
    std::string payload;   // bytes, exactly as enqueued
    unsigned attempt = 1;  // 1 on the first run; failed runs before this one + 1
};

// Runs on a durable worker thread. Returning counts as done (the job is deleted); throwing
// counts as a failed attempt. No exception leaves the worker.
using DurableHandler = std::function<void(const DurableJob& job, const CancellationToken& token)>;

struct EnqueueOptions {
    // While a job with this key is waiting or running, another enqueue with it is a
    // duplicate (nothing is stored). "" = no key. Dead jobs do not hold their key.
    std::string unique_key;
    std::chrono::milliseconds delay{0};  // earliest start, from now
    unsigned max_attempts = 0;           // 0: --job-max-attempts
    int priority = 0;                    // higher runs first among due jobs
};

// Why enqueue() took or refused a job; nothing is ever dropped without one of these.
enum class EnqueueStatus {
    accepted,      // committed; `id` is the job's id
    duplicate,     // a job with the same unique key is waiting or running; `id` is that job's
    full,          // too many enqueues waiting for the store
    stopping,      // the process is shutting down
    unknown_kind,  // no handler registered under that kind
    too_large,     // payload over the limit (kMaxDurablePayload)
    no_store,      // durable jobs are off (no --job-store)
    store_error,   // the store refused the write (disk full, I/O error...); see `message`
};
const char* to_string(EnqueueStatus status);

constexpr std::size_t kMaxDurablePayload = 256 * 1024;

struct EnqueueResult {
    EnqueueStatus status = EnqueueStatus::store_error;
    std::int64_t id = 0;
    std::string message;  // store_error: what the store said
    bool accepted() const { return status == EnqueueStatus::accepted; }
};

class DurableQueue {
public:
    virtual ~DurableQueue() = default;
    // Blocks until the job is committed (group commit: one fsync for many concurrent
    // enqueues) or refused. Thread-safe.
    virtual EnqueueResult enqueue(const std::string& kind, std::string payload, const EnqueueOptions& options = {}) = 0;
};

}  // namespace fcgihost
