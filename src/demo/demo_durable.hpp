// The demo's durable jobs (docs/contract.md#demo): kinds "work" and "fail", and the
// responses of /work?durable=1 and /fail?durable=1.
#pragma once

#include "demo_routes.hpp"

#include "fcgihost/durable_queue.hpp"
#include "fcgihost/payload.hpp"
#include "fcgihost/response.hpp"

#include <functional>
#include <string>

namespace fcgihost {
namespace demo {

using AddKind = std::function<void(const std::string& kind, DurableHandler handler)>;

// "work" (fields ms, id): sleeps ms, waking only at cancel, then appends "done <id>".
// "fail" (fields id, times): throws on its first `times` attempts, then appends "done <id>".
void add_demo_kinds(const AddKind& add, const DemoOptions& options);

// 202 {"id":..,"queued":true,"durable":true,"job":N}; 409 for a duplicate unique key;
// 503 with the reason for any other refusal (no --job-store included).
Response enqueue_durable(DurableQueue& durable, const std::string& id, const std::string& kind,
                         PayloadFields fields, const std::string& unique_key);

}  // namespace demo
}  // namespace fcgihost
