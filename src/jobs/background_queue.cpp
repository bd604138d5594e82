#include "fcgihost/background_queue.hpp"

#include "fcgihost/log.hpp"

namespace fcgihost {

const char* to_string(QueueResult result) {
    switch (result) {
        case QueueResult::accepted: return "accepted";
        case QueueResult::full: return "full";
        case QueueResult::stopping: return "stopping";
        case QueueResult::no_workers: return "no_workers";
        case QueueResult::unsupported: return "unsupported";
    }
    return "unknown";
}

QueueResult BackgroundQueue::queue_async(std::string name, AsyncJob) {
    log_error("async job ", name, " rejected: this queue does not run asynchronous jobs");
    return QueueResult::unsupported;
}

}  // namespace fcgihost
