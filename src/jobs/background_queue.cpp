#include "fcgihost/background_queue.hpp"

namespace fcgihost {

const char* to_string(QueueResult result) {
    switch (result) {
        case QueueResult::accepted: return "accepted";
        case QueueResult::full: return "full";
        case QueueResult::stopping: return "stopping";
    }
    return "unknown";
}

}  // namespace fcgihost
