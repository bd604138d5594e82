// A host for the background-load benchmark: GET / answers hello like the demo, and
// GET /spin?ms=N queues a job that burns N ms of CPU. The benchmark keeps the workers
// busy with /spin and measures GET / latency against idle workers.
#include "fcgihost/host.hpp"

#include <chrono>

int main(int argc, char** argv) {
    return fcgihost::run_main(argc, argv, "bench-app", nullptr, [](fcgihost::Host& host) {
        fcgihost::BackgroundQueue& jobs = host.jobs();
        host.router().get("/", [](const fcgihost::Request&) { return fcgihost::Response::text(200, "hello\n"); });
        host.router().get("/spin", [&jobs](const fcgihost::Request& request) {
            int ms = std::stoi(request.query("ms", "100"));
            auto queued = jobs.queue("spin", [ms](const fcgihost::CancellationToken& token) {
                auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
                volatile unsigned long sink = 0;
                // Spins on through the drain; cut short at the deadline, it says it gave up.
                while (std::chrono::steady_clock::now() < until) {
                    token.throw_if_cancelled();
                    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<unsigned long>(i);
                }
            });
            return fcgihost::Response::text(queued == fcgihost::QueueResult::accepted ? 202 : 503, "spin\n");
        });
    });
}
