// Queue-and-run cost per empty job: fcgihost's JobQueue against boost::asio::thread_pool,
// same worker count, same run; and the memory each waiting job takes.
// Prints "name value" lines for bench/run.sh.
#include "jobs/job_queue.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

namespace {

constexpr std::size_t kJobs = 1000000;

long rss_kib() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.compare(0, 6, "VmRSS:") == 0) return std::stol(line.substr(6));
    }
    return 0;
}

double fcgihost_ns_per_job(unsigned workers) {
    fcgihost::JobQueueOptions options;
    options.capacity = kJobs;
    options.workers = workers;
    options.worker_nice = 0;
    fcgihost::JobQueue queue(options);
    queue.start();
    std::atomic<std::size_t> ran{0};
    auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < kJobs; ++i) {
        queue.queue("j", [&ran](const fcgihost::CancellationToken&) { ran.fetch_add(1, std::memory_order_relaxed); });
    }
    queue.wait_idle_until(std::chrono::steady_clock::now() + std::chrono::minutes(5));
    auto took = std::chrono::steady_clock::now() - start;
    return std::chrono::duration<double, std::nano>(took).count() / static_cast<double>(ran.load());
}

double asio_ns_per_job(unsigned workers) {
    boost::asio::thread_pool pool(workers);
    std::atomic<std::size_t> ran{0};
    auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < kJobs; ++i) {
        boost::asio::post(pool, [&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
    }
    pool.join();
    auto took = std::chrono::steady_clock::now() - start;
    return std::chrono::duration<double, std::nano>(took).count() / static_cast<double>(ran.load());
}

double bytes_per_waiting_job() {
    fcgihost::JobQueueOptions options;
    options.capacity = kJobs;
    fcgihost::JobQueue queue(options);  // not started: every job waits
    long before = rss_kib();
    for (std::size_t i = 0; i < kJobs; ++i) {
        std::string id = "work:" + std::to_string(i);  // a name like the demo's
        queue.queue(id, [id](const fcgihost::CancellationToken&) {});
    }
    long after = rss_kib();
    return static_cast<double>(after - before) * 1024.0 / static_cast<double>(kJobs);
}

}  // namespace

int main(int argc, char** argv) {
    unsigned workers = argc > 1 ? static_cast<unsigned>(std::stoul(argv[1])) : 4;
    int rounds = argc > 2 ? std::stoi(argv[2]) : 3;
    for (int r = 0; r < rounds; ++r) {  // interleaved, so drift hits both alike
        std::printf("fcgihost_ns_per_job %.1f\n", fcgihost_ns_per_job(workers));
        std::printf("asio_ns_per_job %.1f\n", asio_ns_per_job(workers));
        std::fflush(stdout);
    }
    std::printf("bytes_per_waiting_job %.0f\n", bytes_per_waiting_job());
    return 0;
}
