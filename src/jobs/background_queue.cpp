#include "fcgihost/background_queue.hpp"

namespace fcgihost {

const char* to_string(QueueResult result) {
    switch (result) {
        case QueueResult::accepted: return "accepted";
        case QueueResult::full: return "full";
        case QueueResult::stopping: return "stopping";
        case QueueResult::no_workers: return "no_workers";
    }
    return "unknown";
}

}  // namespace fcgihost
