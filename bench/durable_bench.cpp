// Enqueue latency of a durable job (committed to SQLite, group commit) against an
// in-memory queue(), for 1 and 32 concurrent producers; and durable jobs completed per
// second. Prints "name value" lines. Usage: durable_bench [DIR] (default: a temp dir;
// give a directory on the disk you will deploy on, the fsync cost is the figure).
#include "durable/durable_runner.hpp"

#include "jobs/job_queue.hpp"
#include "durable/sqlite_job_store.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Latencies {
    std::vector<double> us;
    double at(double p) {
        std::sort(us.begin(), us.end());
        return us.empty() ? 0 : us[std::min(us.size() - 1, static_cast<std::size_t>(p * static_cast<double>(us.size())))];
    }
};

template <class Enqueue>
Latencies measure(unsigned producers, unsigned per_producer, Enqueue enqueue) {
    Latencies all;
    std::mutex mutex;
    std::vector<std::thread> threads;
    for (unsigned p = 0; p < producers; ++p) {
        threads.emplace_back([&] {
            std::vector<double> mine;
            for (unsigned i = 0; i < per_producer; ++i) {
                auto start = Clock::now();
                enqueue();
                mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
            }
            std::lock_guard<std::mutex> lock(mutex);
            all.us.insert(all.us.end(), mine.begin(), mine.end());
        });
    }
    for (std::thread& t : threads) t.join();
    return all;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = argc > 1 ? argv[1] : "";
    char tmpl[] = "/tmp/durable-bench-XXXXXX";
    if (dir.empty()) dir = mkdtemp(tmpl);
    const std::string path = dir + "/bench-jobs.db";
    for (unsigned producers : {1u, 32u}) {
        const unsigned per = producers == 1 ? 2000 : 200;
        {
            fcgihost::JobQueueOptions o;
            o.capacity = 1000000;
            fcgihost::JobQueue memory(o);
            memory.start();
            Latencies m = measure(producers, per, [&] { memory.queue("b", [](const fcgihost::CancellationToken&) {}); });
            std::printf("memory_enqueue_p50_us_%u %.1f\nmemory_enqueue_p99_us_%u %.1f\n", producers, m.at(0.5),
                        producers, m.at(0.99));
        }
        unlink(path.c_str());
        std::atomic<unsigned long> ran{0};
        fcgihost::durable::DurableRunner runner(std::make_unique<fcgihost::SqliteJobStore>(path),
                                                fcgihost::DurableOptions{}, 4, 100000);
        runner.add_kind("b", [&](const fcgihost::DurableJob&, const fcgihost::CancellationToken&) { ++ran; });
        runner.start();
        auto started = Clock::now();
        Latencies d = measure(producers, per, [&] { runner.enqueue("b", "id=1\n", {}); });
        const unsigned long total = static_cast<unsigned long>(producers) * per;
        while (ran.load() < total) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        double seconds = std::chrono::duration<double>(Clock::now() - started).count();
        std::printf("durable_enqueue_p50_us_%u %.1f\ndurable_enqueue_p99_us_%u %.1f\ndurable_jobs_per_s_%u %.0f\n",
                    producers, d.at(0.5), producers, d.at(0.99), producers, static_cast<double>(total) / seconds);
    }
    return 0;
}
