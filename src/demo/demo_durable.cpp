#include "demo_durable.hpp"

#include "fcgihost/log.hpp"
#include "fcgihost/payload.hpp"

#include <stdexcept>

namespace fcgihost {
namespace demo {

void add_demo_kinds(const AddKind& add, const DemoOptions& options) {
    const std::string job_log = options.job_log;
    add("work", [job_log](const DurableJob& job, const CancellationToken& token) {
        const PayloadFields fields = decode_fields(job.payload);
        const std::string& id = fields.at("id");
        // Keeps sleeping through "stopping"; a job cut short at cancel runs again next start.
        if (!token.sleep_for(std::chrono::milliseconds(std::stol(fields.at("ms"))), TokenLevel::cancelled)) return;
        if (job_log.empty()) log_info("done ", id);
        else append_done_line(job_log, id);
    });
    add("fail", [job_log](const DurableJob& job, const CancellationToken&) {
        const PayloadFields fields = decode_fields(job.payload);
        const std::string& id = fields.at("id");
        const unsigned long times = std::stoul(fields.at("times"));
        if (job.attempt <= times) {
            throw std::runtime_error("job " + id + " failed on purpose (attempt " + std::to_string(job.attempt) +
                                     " of " + std::to_string(times) + " that fail)");
        }
        if (job_log.empty()) log_info("done ", id);
        else append_done_line(job_log, id);
    });
}

Response enqueue_durable(DurableQueue& durable, const std::string& id, const std::string& kind,
                         PayloadFields fields, const std::string& unique_key) {
    EnqueueOptions options;
    options.unique_key = unique_key;
    const EnqueueResult r = durable.enqueue(kind, encode_fields(fields), options);
    const std::string head = "{\"id\":\"" + id + "\",\"durable\":true,\"job\":" + std::to_string(r.id);
    if (r.accepted()) return Response::json(202, head + ",\"queued\":true}\n");
    if (r.status == EnqueueStatus::duplicate) return Response::json(409, head + ",\"queued\":false,\"reason\":\"duplicate\"}\n");
    Response refused = Response::json(503, head + ",\"queued\":false,\"reason\":\"" + to_string(r.status) + "\"}\n");
    refused.set_header("Retry-After", "1");
    return refused;
}

}  // namespace demo
}  // namespace fcgihost
