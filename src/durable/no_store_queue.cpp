#include "durable/durable_runner.hpp"

namespace fcgihost {
namespace durable {
namespace {

class NoStoreQueue : public DurableQueue {
public:
    EnqueueResult enqueue(const std::string&, std::string, const EnqueueOptions&) override {
        EnqueueResult r;
        r.status = EnqueueStatus::no_store;
        r.message = "durable jobs need --job-store";
        return r;
    }
};

}  // namespace

std::unique_ptr<DurableQueue> no_store_queue() { return std::make_unique<NoStoreQueue>(); }

}  // namespace durable
}  // namespace fcgihost
