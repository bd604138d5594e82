// fcgihost-demo: the demo responder that `make run` serves behind nginx (docs/contract.md#demo).
#include "demo_durable.hpp"
#include "demo_routes.hpp"

#include "fcgihost/host.hpp"

int main(int argc, char** argv) {
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
