// DurableOptions: the --job-* flags of a host (see durable_queue.hpp).
#pragma once

#include <chrono>
#include <string>

namespace fcgihost {

class OptionSet;

struct DurableOptions {
    std::string store;                               // --job-store PATH; "" = durable jobs off
    std::chrono::milliseconds retry_base{15000};     // first retry delay; doubles per failure
    unsigned max_attempts = 20;                      // default for jobs that set none
    std::chrono::milliseconds lease{30000};          // a running claim not renewed this long is free again
};

// Declares --job-store, --job-retry-base, --job-max-attempts and --job-lease.
void add_durable_options(OptionSet& set, DurableOptions& options);

}  // namespace fcgihost
