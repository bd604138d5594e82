// A durable job store used as a host uses it (open_job_store + DurableRunner), for a SQLite
// file or a PostgreSQL conninfo alike:
// - enqueue: enqueue latency at 1 and 32 producers, with in-memory queue() as the baseline
//   (4 workers run the jobs meanwhile, as in a live host; what is left at the end is released);
// - throughput: no-op jobs completed per second by PROCESSES processes sharing the store, each
//   enqueueing its share from 16 threads while its 4 workers run jobs; from the first enqueue
//   to the last job run, over every process (steady_clock is CLOCK_MONOTONIC: one clock for
//   every process on the host).
// Prints "name value" lines for bench/sections/durable.sh.
// Usage: durable_store_bench enqueue STORE_AT_1 STORE_AT_32 ENQUEUES_AT_1 ENQUEUES_PER_PRODUCER_AT_32
//        durable_store_bench throughput STORE PROCESSES JOBS LOG_DIR
//        durable_store_bench child STORE JOBS   (one process of a throughput run; fd 0 paces it)
#include "durable/durable_runner.hpp"
#include "fcgihost/log.hpp"
#include "durable/open_job_store.hpp"
#include "jobs/job_queue.hpp"
#include "support/process.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using fcgihost::durable::DurableRunner;

constexpr unsigned kWorkers = 4;
constexpr unsigned kProducersPerProcess = 16;

long long now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

std::unique_ptr<DurableRunner> open_runner(const std::string& store, std::function<void()> on_job) {
    auto runner = std::make_unique<DurableRunner>(fcgihost::open_job_store(store), fcgihost::DurableOptions{}, kWorkers,
                                                  1000000);
    runner->add_kind("noop", [on_job](const fcgihost::DurableJob&, const fcgihost::CancellationToken&) { on_job(); });
    runner->start();
    return runner;
}

double percentile(std::vector<double> us, double p) {
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    return us[std::min(us.size() - 1, static_cast<std::size_t>(p * static_cast<double>(us.size())))];
}

// Latencies in microseconds of `per_producer` calls of `enqueue` from each of `producers` threads.
template <class Enqueue>
std::vector<double> measure(unsigned producers, unsigned per_producer, Enqueue enqueue) {
    std::vector<double> all;
    std::mutex mutex;
    std::vector<std::thread> threads;
    for (unsigned p = 0; p < producers; ++p) {
        threads.emplace_back([&] {
            std::vector<double> mine;
            for (unsigned i = 0; i < per_producer; ++i) {
                const Clock::time_point start = Clock::now();
                enqueue();
                mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
            }
            std::lock_guard<std::mutex> lock(mutex);
            all.insert(all.end(), mine.begin(), mine.end());
        });
    }
    for (std::thread& t : threads) t.join();
    return all;
}

// `stores`: one fresh store for each producer count, so neither case waits for the other's jobs.
int enqueue_latency(const std::string (&stores)[2], unsigned single, unsigned each_of_32) {
    for (unsigned producers : {1u, 32u}) {
        const unsigned per = producers == 1 ? single : each_of_32;
        {
            fcgihost::JobQueueOptions o;
            o.capacity = 1000000;
            fcgihost::JobQueue memory(o);
            memory.start();
            const std::vector<double> m =
                measure(producers, per, [&] { memory.queue("b", [](const fcgihost::CancellationToken&) {}); });
            std::printf("memory_enqueue_p50_us_%u %.1f\nmemory_enqueue_p99_us_%u %.1f\n", producers,
                        percentile(m, 0.5), producers, percentile(m, 0.99));
        }
        std::atomic<unsigned long> refused{0};
        auto runner = open_runner(stores[producers == 1 ? 0 : 1], [] {});
        const std::vector<double> d = measure(producers, per, [&] {
            if (!runner->enqueue("noop", "", {}).accepted()) ++refused;
        });
        if (refused > 0) throw std::runtime_error(std::to_string(refused.load()) + " enqueues refused");
        std::printf("durable_enqueue_p50_us_%u %.1f\ndurable_enqueue_p99_us_%u %.1f\n", producers, percentile(d, 0.5),
                    producers, percentile(d, 0.99));
    }
    return 0;
}

// One process of a throughput run. fd 0: a byte starts the enqueues, end-of-file (the
// parent saw the store empty) ends the process.
int child(const std::string& store, unsigned long jobs) {
    std::atomic<unsigned long> ran{0};
    std::atomic<long long> last_done{0};
    auto runner = open_runner(store, [&] {
        const long long t = now_ns();
        long long seen = last_done.load();
        while (seen < t && !last_done.compare_exchange_weak(seen, t)) {
        }
        ++ran;
    });
    std::printf("ready\n");
    std::fflush(stdout);
    char go = 0;
    if (::read(0, &go, 1) != 1) return 1;
    const long long first = now_ns();
    std::atomic<unsigned long> refused{0};
    std::vector<std::thread> producers;
    for (unsigned p = 0; p < kProducersPerProcess; ++p) {
        const unsigned long mine = jobs / kProducersPerProcess + (p < jobs % kProducersPerProcess ? 1 : 0);
        producers.emplace_back([&, mine] {
            for (unsigned long i = 0; i < mine; ++i) {
                if (!runner->enqueue("noop", "", {}).accepted()) ++refused;
            }
        });
    }
    for (std::thread& t : producers) t.join();
    std::printf("enqueued\n");
    std::fflush(stdout);
    while (::read(0, &go, 1) > 0) {
    }
    std::printf("first_enqueue_ns %lld\nlast_done_ns %lld\ncompleted %lu\nrefused %lu\n", first, last_done.load(),
                ran.load(), refused.load());
    std::fflush(stdout);
    return 0;
}

long long log_value(const std::string& log, const std::string& name) {
    const std::size_t at = log.find("\n" + name + " ");
    if (at == std::string::npos) throw std::runtime_error("no " + name + " in: " + log);
    return std::stoll(log.substr(at + name.size() + 2));
}

// Throws with the child's log if it exits, or `limit` passes, before `line` is in its log.
void wait_for_line(const fcgihost::testing_support::ChildProcess& child, const std::string& line,
                   std::chrono::seconds limit) {
    for (auto left = limit; left.count() > 0; --left) {
        if (child.wait_for_log(line, std::chrono::seconds(1))) return;
        if (child.exited()) break;
    }
    throw std::runtime_error("no \"" + line.substr(0, line.size() - 1) + "\" from a child: " + child.log());
}

int throughput(const std::string& self, const std::string& store, unsigned processes, unsigned long jobs,
               const std::string& dir) {
    using fcgihost::testing_support::ChildProcess;
    // Opened first, so the children find the store created (one start on a new SQLite file
    // under load once failed with "database is locked"; starting together is not measured here).
    const std::unique_ptr<fcgihost::JobStore> probe = fcgihost::open_job_store(store);
    int go[2];
    if (::pipe(go) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::unique_ptr<ChildProcess>> children;
    for (unsigned p = 0; p < processes; ++p) {
        const unsigned long share = jobs / processes + (p < jobs % processes ? 1 : 0);
        children.push_back(std::make_unique<ChildProcess>(
            std::vector<std::string>{self, "child", store, std::to_string(share)},
            dir + "/child-" + std::to_string(p) + ".log", std::vector<std::string>{}, go[0]));
    }
    ::close(go[0]);
    for (auto& c : children) wait_for_line(*c, "ready\n", std::chrono::seconds(60));
    const std::string bytes(processes, 'g');
    if (::write(go[1], bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) throw std::runtime_error("write");
    for (auto& c : children) wait_for_line(*c, "enqueued\n", std::chrono::seconds(300));
    // The end time comes from the children; this only learns when to stop them.
    const Clock::time_point give_up = Clock::now() + std::chrono::seconds(300);
    for (;;) {
        const fcgihost::StoredCounts n = probe->counts();
        if (n.waiting + n.scheduled + n.running + n.retrying == 0) break;
        if (Clock::now() > give_up) throw std::runtime_error("jobs left in the store");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::close(go[1]);
    long long first = 0, last = 0;
    unsigned long completed = 0;
    for (auto& c : children) {
        if (!c->wait_exit(std::chrono::seconds(60)) || c->exit_code() != 0) throw std::runtime_error("failed: " + c->log());
        const std::string log = "\n" + c->log();
        const long long f = log_value(log, "first_enqueue_ns");
        first = first == 0 ? f : std::min(first, f);
        last = std::max(last, log_value(log, "last_done_ns"));
        completed += static_cast<unsigned long>(log_value(log, "completed"));
        if (log_value(log, "refused") != 0) throw std::runtime_error("enqueues refused: " + log);
    }
    if (completed != jobs) throw std::runtime_error(std::to_string(completed) + " of " + std::to_string(jobs) + " ran");
    std::printf("jobs_per_s_%u %.0f\n", processes, static_cast<double>(jobs) * 1e9 / static_cast<double>(last - first));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    fcgihost::log_set_level(fcgihost::LogLevel::warn);  // jobs released at the end are expected
    try {
        if (args.size() == 5 && args[0] == "enqueue") {
            const std::string stores[2] = {args[1], args[2]};
            return enqueue_latency(stores, static_cast<unsigned>(std::stoul(args[3])),
                                   static_cast<unsigned>(std::stoul(args[4])));
        }
        if (args.size() == 5 && args[0] == "throughput") {
            char self[4096];
            const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
            if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
            return throughput(std::string(self, static_cast<std::size_t>(n)), args[1], static_cast<unsigned>(std::stoul(args[2])),
                              std::stoul(args[3]), args[4]);
        }
        if (args.size() == 3 && args[0] == "child") return child(args[1], std::stoul(args[2]));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "durable_store_bench: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr,
                 "usage: %s enqueue STORE_AT_1 STORE_AT_32 ENQUEUES_AT_1 ENQUEUES_PER_PRODUCER_AT_32\n"
                 "       %s throughput STORE PROCESSES JOBS LOG_DIR\n",
                 argv[0], argv[0]);
    return 2;
}
