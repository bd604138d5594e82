// fcgihost-demo: the demo responder that `make run` serves behind nginx (docs/contract.md#demo).
#include "demo_durable.hpp"
#include "demo_routes.hpp"

#include "fcgihost/host.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    // For tests of a failed reload: only a successor (one handed FCGIHOST_READY_FD by its
    // predecessor) obeys it, so the variable can be set for the first process, which starts
    // normally, and every successor it starts then fails: "exit" exits 1, "hang" never serves.
    const char* fail = std::getenv("DEMO_SUCCESSOR_FAIL");
    if (fail != nullptr && std::getenv("FCGIHOST_READY_FD") != nullptr) {
        if (std::strcmp(fail, "hang") == 0) {
            for (;;) pause();
        }
        return 1;
    }
    fcgihost::demo::DemoOptions demo;
    fcgihost::HostOptions defaults;
    defaults.status_path = "/status";
    defaults.ping_path = "/ping";
    return fcgihost::run_main(
        argc, argv, "fcgihost-demo",
        [&demo](fcgihost::OptionSet& flags) {
            flags.add("job-log", "PATH", "", "file that gets a 'done ID' line per finished /work job",
                      [&demo](const std::string& v) { demo.job_log = v; });
        },
        [&demo](fcgihost::Host& host) {
            fcgihost::demo::add_demo_kinds(
                [&host](const std::string& kind, fcgihost::DurableHandler handler) {
                    host.add_durable_kind(kind, std::move(handler));
                },
                demo);
            fcgihost::demo::add_demo_routes(host.router(), host.jobs(), demo, &host.durable());
        },
        defaults);
}
