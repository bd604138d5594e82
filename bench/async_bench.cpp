// Asynchronous jobs against blocking ones, same process, same queue options:
//   async_bench pending N       memory and threads of N async jobs each waiting on a timer
//   async_bench queued N        the same for N blocking jobs waiting in the queue (unstarted)
//   async_bench blocked N       the same for N blocking jobs each holding a worker in a wait
//   async_bench timing W ROUNDS enqueue->start latency and no-op throughput, W workers
// Each memory mode runs alone in a fresh process: freed memory that glibc keeps would
// otherwise hide the next measurement's growth. They use one malloc arena, so that
// mallinfo2() sees the allocations of every thread. Prints "name value" lines for
// bench/sections/async.sh.
#include "jobs/job_queue.hpp"
#include "fcgihost/log.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

long status_field(const char* field) {  // a number from /proc/self/status (VmRSS in KiB)
    std::ifstream status("/proc/self/status");
    const std::string prefix = std::string(field) + ":";
    for (std::string line; std::getline(status, line);) {
        if (line.compare(0, prefix.size(), prefix) == 0) return std::stol(line.substr(prefix.size()));
    }
    return 0;
}

struct Footprint {
    long rss_kib = status_field("VmRSS");
    long threads = status_field("Threads");
    std::size_t heap = [] {
        const struct mallinfo2 info = mallinfo2();
        return info.uordblks + info.hblkhd;
    }();
};

void print_growth(const char* kind, const Footprint& before, const Footprint& after, std::size_t n) {
    std::printf("%s_jobs %zu\n", kind, n);
    std::printf("%s_rss_bytes_per_job %.0f\n", kind, (after.rss_kib - before.rss_kib) * 1024.0 / static_cast<double>(n));
    std::printf("%s_heap_bytes_per_job %.0f\n", kind,
                (static_cast<double>(after.heap) - static_cast<double>(before.heap)) / static_cast<double>(n));
    std::printf("%s_threads_before %ld\n%s_threads_after %ld\n", kind, before.threads, kind, after.threads);
}

// Counts events from job threads; the main thread sleeps until enough have happened.
class Latch {
public:
    void arrive() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ++count_;
        }
        changed_.notify_all();
    }
    void wait_for(std::size_t n) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return count_ >= n; });
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t count_ = 0;  // guarded by mutex_
};

fcgihost::JobQueueOptions options(unsigned workers, std::size_t capacity) {
    fcgihost::JobQueueOptions o;
    o.workers = workers;
    o.capacity = capacity;
    o.async_capacity = capacity;
    o.worker_nice = 0;  // as queue_bench: the figures compare mechanisms, not priorities
    return o;
}

void drain(fcgihost::JobQueue& queue) {
    queue.cancel();
    queue.wait_idle_until(Clock::now() + std::chrono::seconds(30));
}

void pending_async(std::size_t n) {
    fcgihost::JobQueue queue(options(4, n));
    queue.start();
    Latch started;
    const Footprint before;
    for (std::size_t i = 0; i < n; ++i) {
        queue.queue_async("wait:" + std::to_string(i), [&started](fcgihost::AsyncContext& ctx) {
            ctx.sleep_for(std::chrono::hours(1), [ctx](const boost::system::error_code& ec) mutable {
                if (ec) return ctx.gave_up();
                ctx.done();
            });
            started.arrive();
        });
    }
    started.wait_for(n);
    print_growth("pending_async", before, Footprint(), n);
    drain(queue);
}

void queued_sync(std::size_t n) {
    fcgihost::JobQueue queue(options(4, n));  // not started: every job waits in the queue
    const Footprint before;
    for (std::size_t i = 0; i < n; ++i) {
        queue.queue("wait:" + std::to_string(i), [](const fcgihost::CancellationToken& token) {
            token.sleep_for(std::chrono::hours(1));
        });
    }
    print_growth("queued_sync", before, Footprint(), n);
}

void blocked_sync(std::size_t n) {
    fcgihost::JobQueue queue(options(static_cast<unsigned>(n), n));
    Latch started;
    const Footprint before;  // before start(): the worker threads are part of the cost
    queue.start();
    for (std::size_t i = 0; i < n; ++i) {
        queue.queue("wait:" + std::to_string(i), [&started](const fcgihost::CancellationToken& token) {
            started.arrive();
            token.sleep_for(std::chrono::hours(1));
        });
    }
    started.wait_for(n);
    print_growth("blocked_sync", before, Footprint(), n);
    drain(queue);
}

// One job at a time, so each sample is the wake-up of an idle queue; async and blocking
// samples alternate on one queue, so drift in the machine's load hits both alike.
void start_latency(unsigned workers, std::size_t samples) {
    fcgihost::JobQueue queue(options(workers, 16));
    queue.start();
    // A job may still be inside mark() when the main thread moves on: the queue is idle
    // before this goes.
    struct Probe {
        std::mutex mutex;
        std::condition_variable ran;
        Clock::time_point started{};  // guarded by mutex; zero until the job starts
        void mark() {
            const auto now = Clock::now();
            std::lock_guard<std::mutex> lock(mutex);
            started = now;
            ran.notify_one();
        }
    } probe;
    std::vector<double> async_us, sync_us;
    for (std::size_t i = 0; i < samples; ++i) {
        for (bool async : {true, false}) {
            {
                std::lock_guard<std::mutex> lock(probe.mutex);
                probe.started = Clock::time_point{};
            }
            const Clock::time_point queued = Clock::now();
            if (async) {
                queue.queue_async("start", [&probe](fcgihost::AsyncContext& ctx) {
                    probe.mark();
                    ctx.done();
                });
            } else {
                queue.queue("start", [&probe](const fcgihost::CancellationToken&) { probe.mark(); });
            }
            std::unique_lock<std::mutex> lock(probe.mutex);
            probe.ran.wait(lock, [&] { return probe.started != Clock::time_point{}; });
            (async ? async_us : sync_us).push_back(std::chrono::duration<double, std::micro>(probe.started - queued).count());
        }
    }
    queue.wait_idle_until(Clock::now() + std::chrono::seconds(30));
    for (auto* v : {&async_us, &sync_us}) std::sort(v->begin(), v->end());
    auto at = [](const std::vector<double>& v, double q) { return v[static_cast<std::size_t>(q * (v.size() - 1))]; };
    std::printf("async_start_p50_us %.1f\nasync_start_p99_us %.1f\n", at(async_us, 0.50), at(async_us, 0.99));
    std::printf("sync_start_p50_us %.1f\nsync_start_p99_us %.1f\n", at(sync_us, 0.50), at(sync_us, 0.99));
}

// Jobs per second from the first enqueue to the last job counted.
double noop_rate(unsigned workers, std::size_t n, bool async) {
    fcgihost::JobQueue queue(options(workers, n));
    queue.start();
    const auto begin = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
        if (async) {
            queue.queue_async("noop", [](fcgihost::AsyncContext& ctx) { ctx.done(); });
        } else {
            queue.queue("noop", [](const fcgihost::CancellationToken&) {});
        }
    }
    queue.wait_idle_until(Clock::now() + std::chrono::minutes(5));
    const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    return static_cast<double>(queue.counts().completed) / seconds;
}

void timing(unsigned workers, int rounds) {
    constexpr std::size_t kNoops = 200000;
    for (int r = 0; r < rounds; ++r) {  // interleaved, so drift hits both alike
        start_latency(workers, 1000);
        std::printf("sync_noop_per_s %.0f\n", noop_rate(workers, kNoops, false));
        std::printf("async_noop_per_s %.0f\n", noop_rate(workers, kNoops, true));
        std::fflush(stdout);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    // One arena only where memory is measured: it would make the timed threads contend.
    if (mode != "timing") mallopt(M_ARENA_MAX, 1);
    fcgihost::log_set_level(fcgihost::LogLevel::error);  // the teardown cancels thousands of waits
    const std::size_t n = argc > 2 ? std::stoul(argv[2]) : 10000;
    if (mode == "pending") {
        pending_async(n);
    } else if (mode == "queued") {
        queued_sync(n);
    } else if (mode == "blocked") {
        blocked_sync(n);
    } else if (mode == "timing") {
        timing(static_cast<unsigned>(argc > 2 ? std::stoul(argv[2]) : 4), argc > 3 ? std::stoi(argv[3]) : 3);
    } else {
        std::fprintf(stderr, "usage: async_bench pending|queued|blocked N | timing WORKERS ROUNDS\n");
        return 2;
    }
    return 0;
}
