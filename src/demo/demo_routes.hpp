// The demo application's routes (docs/contract.md#demo). They depend only on a Router and a
// BackgroundQueue, so tests can run them with a queue they drive themselves.
#pragma once

#include "fcgihost/background_queue.hpp"
#include "fcgihost/durable_queue.hpp"
#include "fcgihost/router.hpp"

#include <string>

namespace fcgihost {
namespace demo {

struct DemoOptions {
    std::string job_log;  // file that gets "done <id>" per finished job; "" logs it instead
};

// GET /, GET /work?ms=N&id=X, GET /fail?id=X, POST /echo. With `durable` (may be null:
// then durable=1 gets 503), /work and /fail take durable=1 (and key=K for a unique key).
void add_demo_routes(Router& router, BackgroundQueue& jobs, const DemoOptions& options,
                     DurableQueue* durable = nullptr);

// Appends "done <id>\n" to `path` and fsyncs it. Throws std::runtime_error if the file
// cannot be opened (a symlink at `path` is refused) or written (the job then counts as
// failed, and says why); a line written part-way is removed again, so the next line
// still starts on its own line.
void append_done_line(const std::string& path, const std::string& id);

}  // namespace demo
}  // namespace fcgihost
