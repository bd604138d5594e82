// A host for the worker-policy benchmark (bench/sections/worker_policy.sh): GET / answers
// hello like the demo, and GET /spin?ms=N&count=K queues K jobs that each burn N ms of CPU
// time (their thread's clock, not the wall's: a job starved of CPU takes longer).
// The benchmark keeps the workers busy with /spin and measures GET / latency against idle
// workers, and counts the short jobs done while something else keeps the cores busy.
#include "fcgihost/host.hpp"

#include <time.h>

namespace {

long long thread_cpu_ns() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
    return fcgihost::run_main(argc, argv, "bench-app", nullptr, [](fcgihost::Host& host) {
        fcgihost::BackgroundQueue& jobs = host.jobs();
        host.router().get("/", [](const fcgihost::Request&) { return fcgihost::Response::text(200, "hello\n"); });
        host.router().get("/spin", [&jobs](const fcgihost::Request& request) {
            const int ms = std::stoi(request.query("ms", "100"));
            const int count = std::stoi(request.query("count", "1"));
            for (int i = 0; i < count; ++i) {
                auto queued = jobs.queue("spin", [ms](const fcgihost::CancellationToken& token) {
                    const long long until = thread_cpu_ns() + ms * 1000000LL;
                    volatile unsigned long sink = 0;
                    // Spins on through the drain; cut short at the deadline, it says it gave up.
                    while (thread_cpu_ns() < until) {
                        token.throw_if_cancelled();
                        for (int j = 0; j < 10000; ++j) sink = sink + static_cast<unsigned long>(j);
                    }
                });
                if (queued != fcgihost::QueueResult::accepted) return fcgihost::Response::text(503, "spin\n");
            }
            return fcgihost::Response::text(202, "spin\n");
        });
    });
}
