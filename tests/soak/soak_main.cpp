// fcgihost-soak: `make soak`. Drives a real fcgihost-demo long enough for slow leaks and
// unbounded growth to show, and checks two things (exit status 0 when both hold):
//
// 1. Memory comes back. 10^6 jobs (GET /work?ms=0, each one request) and 10^5 other
//    requests (/, POST /echo of 1 KiB, /status, /fail, an unknown path) over kept
//    connections from four client threads. Resident memory is sampled once the first 10%
//    is done (warm: arenas, thread stacks and buffers have their working size) and again
//    when everything has been answered and every job has run: the second may exceed the
//    first by at most max(10%, 4 MiB). Every accepted job must have completed, every /fail
//    failed, and the drain must then exit 0.
// 2. A full queue refuses. One worker held by a long job, --queue-capacity 1000, then 10^5
//    more jobs: exactly 1000 are accepted, every other one gets 503 "full" and is counted,
//    and memory does not grow with the refused ones.
//
// Usage: fcgihost-soak PATH/TO/fcgihost-demo [jobs [requests]] (defaults 1000000 100000).
#include "support/fcgi_client.hpp"
#include "support/proc_stats.hpp"
#include "support/process.hpp"

#include <poll.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace fcgihost::testing_support;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kClients = 4;
constexpr auto kStartLimit = std::chrono::seconds(10);

bool failed = false;

void check(bool ok, const std::string& what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    std::fflush(stdout);
    if (!ok) failed = true;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

long long status_number(const std::string& json, const std::string& field) {
    const std::string key = "\"" + field + "\":";
    const std::size_t at = json.find(key);
    return at == std::string::npos ? -1 : std::atoll(json.c_str() + at + key.size());
}

// A demo process on a socket in `dir`, answering once it accepts connections.
std::unique_ptr<ChildProcess> start_demo(const std::string& demo, const TempDir& dir,
                                         const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {demo, "--socket", dir.file("demo.sock"), "--log-level", "warn"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::unique_ptr<ChildProcess> child(new ChildProcess(argv, dir.file("demo.log")));
    const auto deadline = Clock::now() + kStartLimit;
    for (;;) {
        try {
            FcgiConnection::connect_unix(dir.file("demo.sock"));
            return child;
        } catch (const FcgiError&) {
        }
        if (Clock::now() > deadline || child->exited()) {
            std::fprintf(stderr, "fcgihost-demo did not start:\n%s\n", child->log().c_str());
            std::exit(2);
        }
        ::poll(nullptr, 0, 10);  // nothing to wait on but the socket appearing
    }
}

std::string status_of(const std::string& socket) { return fcgi_get(socket, "/status").body; }

// Part 1: the demo's memory after 10^6 jobs and 10^5 requests is where it was when warm.
void memory_comes_back(const std::string& demo_path, long jobs, long requests) {
    std::printf("== %ld jobs and %ld other requests, %d kept connections\n", jobs, requests, kClients);
    TempDir dir;
    auto demo = start_demo(demo_path, dir, {"--threads", "4", "--workers", "2", "--queue-capacity", "100000"});
    const std::string socket = dir.file("demo.sock");
    const pid_t pid = demo->pid();

    const long total = jobs + requests;
    std::atomic<long> next{0};
    std::atomic<long> accepted{0}, refused{0}, fails{0}, errors{0}, done{0};
    const std::string echo_body(1024, 'e');
    auto client = [&] {
        FcgiConnection c = FcgiConnection::connect_unix(socket);
        for (long i = next++; i < total; i = next++) {
            try {
                // One in eleven is not a job: /, /echo, /status, /fail and an unknown path in turn.
                if (i % 11 == 10) {
                    const long kind = (i / 11) % 5;
                    if (kind == 0) errors += c.request(cgi_params("GET", "/"), "", true).status != 200;
                    if (kind == 1) errors += c.request(cgi_params("POST", "/echo", 1024), echo_body, true).body != echo_body;
                    if (kind == 2) errors += c.request(cgi_params("GET", "/status"), "", true).status != 200;
                    if (kind == 3) {
                        int s = c.request(cgi_params("GET", "/fail?id=f" + std::to_string(i)), "", true).status;
                        fails += s == 202;
                        refused += s == 503;
                    }
                    if (kind == 4) errors += c.request(cgi_params("GET", "/nope"), "", true).status != 404;
                } else {
                    int s = c.request(cgi_params("GET", "/work?ms=0&id=j" + std::to_string(i)), "", true).status;
                    accepted += s == 202;
                    refused += s == 503;
                    errors += s != 202 && s != 503;
                }
            } catch (const FcgiError& e) {
                ++errors;
                c = FcgiConnection::connect_unix(socket);
            }
            ++done;
        }
    };
    const auto started = Clock::now();
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) clients.emplace_back(client);
    long warm_rss = -1;
    long peak_rss = 0;
    while (done.load() < total) {
        ::poll(nullptr, 0, 100);  // sampling period
        const long rss = proc_rss_kib(pid);
        peak_rss = std::max(peak_rss, rss);
        if (warm_rss < 0 && done.load() >= total / 10) warm_rss = rss;
    }
    for (std::thread& t : clients) t.join();
    const double took = seconds_since(started);
    // Every accepted job has run (or failed) once nothing is queued or running.
    std::string status;
    const auto drain_deadline = Clock::now() + std::chrono::seconds(60);
    do {
        status = status_of(socket);
    } while ((status_number(status, "queued") != 0 || status_number(status, "running") != 0) &&
             Clock::now() < drain_deadline && ::poll(nullptr, 0, 50) == 0);
    const long end_rss = proc_rss_kib(pid);
    std::printf("   %.1f s, %.0f requests/s; VmRSS warm %ld KiB, peak %ld KiB, end %ld KiB\n", took, total / took,
                warm_rss, peak_rss, end_rss);
    std::printf("   jobs accepted %ld, /fail accepted %ld, refused (queue full) %ld, client errors %ld\n",
                accepted.load(), fails.load(), refused.load(), errors.load());
    check(errors.load() == 0, "every answer as expected");
    check(status_number(status, "completed") == accepted.load(), "every accepted /work job completed");
    check(status_number(status, "failed") == fails.load(), "every accepted /fail job failed, none else");
    check(accepted.load() + refused.load() + fails.load() >= jobs, "all " + std::to_string(jobs) + " jobs offered");
    const long margin = std::max(warm_rss / 10, 4096L);
    check(end_rss <= warm_rss + margin, "VmRSS at the end within max(10%, 4 MiB) of warm (" +
                                            std::to_string(end_rss - warm_rss) + " KiB apart)");
    demo->signal(SIGTERM);
    check(demo->wait_exit(std::chrono::seconds(30)) && demo->exit_code() == 0, "SIGTERM: drained, exit 0");
}

// Part 2: a full queue refuses, counts and logs, and does not grow.
void full_queue_refuses(const std::string& demo_path, long offered) {
    std::printf("== %ld jobs against one busy worker and --queue-capacity 1000\n", offered);
    TempDir dir;
    auto demo = start_demo(demo_path, dir,
                           {"--workers", "1", "--queue-capacity", "1000", "--drain-timeout", "1s", "--cancel-grace", "5s"});
    const std::string socket = dir.file("demo.sock");
    const pid_t pid = demo->pid();
    FcgiConnection c = FcgiConnection::connect_unix(socket);
    check(c.request(cgi_params("GET", "/work?ms=3600000&id=blocker"), "", true).status == 202, "blocker accepted");
    const auto deadline = Clock::now() + kStartLimit;
    while (status_number(status_of(socket), "running") != 1 && Clock::now() < deadline) ::poll(nullptr, 0, 10);
    const long rss_before = proc_rss_kib(pid);
    long accepted = 0;
    long full = 0;
    const auto started = Clock::now();
    for (long i = 0; i < offered; ++i) {
        FcgiResponse r = c.request(cgi_params("GET", "/work?ms=0&id=q" + std::to_string(i)), "", true);
        accepted += r.status == 202;
        full += r.status == 503 && r.body.find("\"reason\":\"full\"") != std::string::npos;
    }
    const long rss_after = proc_rss_kib(pid);
    const std::string status = status_of(socket);
    std::printf("   %.1f s; accepted %ld, refused full %ld; VmRSS %ld KiB before, %ld KiB after\n",
                seconds_since(started), accepted, full, rss_before, rss_after);
    check(accepted == 1000, "exactly the capacity accepted");
    check(full == offered - 1000, "every other job refused as full");
    check(status_number(status, "rejected_full") == offered - 1000, "every refusal counted");
    check(status_number(status, "high_water") == 1000 && status_number(status, "queued") == 1000,
          "the queue never held more than its capacity");
    check(rss_after - rss_before <= 4096, "refused jobs cost no memory (" + std::to_string(rss_after - rss_before) +
                                              " KiB)");
    demo->signal(SIGTERM);
    check(demo->wait_exit(std::chrono::seconds(30)) && demo->exit_code() == 3,
          "SIGTERM: the blocker cancelled, the 1000 abandoned by name, exit 3");
    check(demo->log().find("abandoned=1000") != std::string::npos, "the summary counts them");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s PATH/TO/fcgihost-demo [jobs [requests]]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const long jobs = argc > 2 ? std::atol(argv[2]) : 1000000;
    const long requests = argc > 3 ? std::atol(argv[3]) : 100000;
    const auto started = Clock::now();
    memory_comes_back(argv[1], jobs, requests);
    full_queue_refuses(argv[1], requests);
    std::printf("soak: %s in %.0f s\n", failed ? "FAILED" : "passed", seconds_since(started));
    return failed ? 1 : 0;
}
