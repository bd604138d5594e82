// BackgroundQueue: the one thing a handler needs to defer work. Handlers depend on this
// interface, not on JobQueue, so a test can hand them a queue it drives by hand.
#pragma once

#include "fcgihost/async_job.hpp"
#include "fcgihost/job.hpp"

#include <string>

namespace fcgihost {

// Why queue() took or refused a job. A refusal is never silent: the handler gets this
// value (the demo answers 503), and the queue counts and logs it.
// no_workers: the process runs with --workers 0 (it only enqueues durable jobs).
// unsupported: this queue cannot run asynchronous jobs (queue_async() was not overridden).
enum class QueueResult { accepted, full, stopping, no_workers, unsupported };
const char* to_string(QueueResult result);

class BackgroundQueue {
public:
    virtual ~BackgroundQueue() = default;
    // Never blocks on a job. `name` identifies the job in logs and drain reports. The job
    // (job.hpp) runs on a worker thread after the request that queued it has ended: capture
    // by value, nothing of the request is alive by then. A refused job is destroyed here.
    virtual QueueResult queue(std::string name, Job job) = 0;
    // An asynchronous job (async_job.hpp): waits without holding a worker thread. The
    // default refuses it (unsupported, logged): a queue must opt in.
    virtual QueueResult queue_async(std::string name, AsyncJob job);
};

}  // namespace fcgihost
