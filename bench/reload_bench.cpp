// What clients behind nginx see of a deploy: GET /status every 5 ms through a real nginx
// (nginx/fcgihost.conf as shipped) to fcgihost-demo on a socket this program holds, as
// systemd's fcgihost.socket does, while the old process runs a 4 s job. Three windows per
// round, each 6 s or until the deploy is over and 1 s has passed:
//   baseline        no deploy (the same job runs);
//   reload          SIGUSR2 1 s in: the successor serves, the old process drains;
//   stop and start  SIGTERM 1 s in: the old process drains while the socket waits, then
//                   a new process starts on it (the deploy before reload existed).
// Requests are sent on a schedule (open loop): a request's latency runs from the moment it
// was due, so a stall counts for every request it holds up, not just the one in flight.
// Prints the Markdown of bench/sections/reload.sh.
// Usage: reload_bench DEMO_BINARY ROUNDS
#include "support/http_client.hpp"
#include "support/nginx_process.hpp"
#include "support/process.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace fcgihost::testing_support;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kPeriod = std::chrono::milliseconds(5);
constexpr unsigned kSenders = 16;  // enough that a 4 s stall does not run out of senders early
constexpr int kJobMs = 4000;
constexpr auto kLimit = std::chrono::seconds(20);

long long ms(Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

long pid_in(const std::string& json) {
    const std::size_t at = json.find("\"pid\":");
    return at == std::string::npos ? 0 : std::strtol(json.c_str() + at + 6, nullptr, 10);
}

struct Sample {
    Clock::time_point due;
    Clock::time_point answered;
    int status = 0;  // 0: no answer (the error is counted as non-2xx)
    long pid = 0;
};

// Sends GET /status at start + i * kPeriod for i = 0, 1, ... until stop(), each sender
// over a kept HTTP connection to nginx (opened again after an error or a close).
class Pacer {
public:
    Pacer(const std::string& host, int port) : start_(Clock::now()) {
        for (unsigned i = 0; i < kSenders; ++i) threads_.emplace_back([this, host, port] { send(host, port); });
    }
    ~Pacer() { stop(); }
    std::vector<Sample> stop() {
        running_ = false;
        for (std::thread& t : threads_)
            if (t.joinable()) t.join();
        std::lock_guard<std::mutex> lock(mutex_);
        return samples_;
    }
    // The first answer from `pid`, or Clock::time_point::max() if none yet.
    Clock::time_point first_answer_from(long pid) {
        std::lock_guard<std::mutex> lock(mutex_);
        Clock::time_point first = Clock::time_point::max();
        for (const Sample& s : samples_)
            if (s.pid == pid) first = std::min(first, s.answered);
        return first;
    }

private:
    void send(const std::string& host, int port) {
        std::unique_ptr<HttpConnection> conn;
        while (running_) {
            Sample s;
            s.due = start_ + kPeriod * next_++;
            std::this_thread::sleep_until(s.due);
            if (!running_) break;
            try {
                if (!conn) conn.reset(new HttpConnection(host, port, std::chrono::seconds(60)));
                HttpResponse r = conn->request("GET", "/status");
                s.status = r.status;
                s.pid = pid_in(r.body);
                if (r.header("Connection") == "close") conn.reset();
            } catch (const std::exception&) {
                conn.reset();
            }
            s.answered = Clock::now();
            std::lock_guard<std::mutex> lock(mutex_);
            samples_.push_back(s);
        }
    }

    const Clock::time_point start_;
    std::atomic<bool> running_{true};
    std::atomic<long long> next_{0};
    std::mutex mutex_;
    std::vector<Sample> samples_;  // guarded by mutex_
    std::vector<std::thread> threads_;
};

struct Window {
    std::vector<Sample> samples;
    long long new_pid_after_ms = -1;  // first answer from the new process, after the signal
    bool old_ok = true;               // old exit 0 and its job's done line written
};

class Bench {
public:
    explicit Bench(std::string demo) : demo_(std::move(demo)), held_(hold(tmp_.file("s"))), nginx_(tmp_.file("s")) {}
    ~Bench() { ::close(held_); }

    Window baseline(int round) { return run(round, "baseline", nullptr); }
    Window reload(int round) {
        return run(round, "reload", [](ChildProcess& old, Window& w, Clock::time_point signal_at, Pacer& pacer,
                                       Bench& b) {
            old.signal(SIGUSR2);
            if (!old.wait_for_log("serves; this process stops accepting", kLimit)) throw std::runtime_error(old.log());
            const long pid = std::strtol(old.log().substr(old.log().find("started successor pid ") + 22).c_str(),
                                         nullptr, 10);
            w.old_ok = old.wait_exit(kLimit) && old.exit_code() == 0;
            const Clock::time_point first = pacer.first_answer_from(pid);
            if (first != Clock::time_point::max()) w.new_pid_after_ms = ms(first - signal_at);
            b.successor_ = pid;
        });
    }
    Window stop_and_start(int round) {
        return run(round, "restart", [](ChildProcess& old, Window& w, Clock::time_point signal_at, Pacer& pacer,
                                        Bench& b) {
            old.signal(SIGTERM);
            w.old_ok = old.wait_exit(kLimit) && old.exit_code() == 0;
            b.next_.reset(b.start("restart-next"));
            const long pid = b.next_->pid();
            // Polled: the first answer from the new pid is only known to the senders.
            for (auto until = Clock::now() + kLimit; Clock::now() < until;) {
                const Clock::time_point first = pacer.first_answer_from(pid);
                if (first != Clock::time_point::max()) {
                    w.new_pid_after_ms = ms(first - signal_at);
                    break;
                }
                std::this_thread::sleep_for(kPeriod);
            }
        });
    }

private:
    using Deploy = void (*)(ChildProcess&, Window&, Clock::time_point, Pacer&, Bench&);

    static int hold(const std::string& path) {
        const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 1024) != 0) {
            throw std::runtime_error(std::string("cannot hold the socket: ") + std::strerror(errno));
        }
        return fd;
    }

    ChildProcess* start(const std::string& name) {
        ChildProcess* p = new ChildProcess({demo_, "--job-log", tmp_.file("jobs"), "--log-level", "info"},
                                           tmp_.file(name + ".log"), {}, held_);
        if (!p->wait_for_log("listening on", kLimit)) throw std::runtime_error("demo did not start: " + p->log());
        return p;
    }

    Window run(int round, const std::string& name, Deploy deploy) {
        const std::string id = name + std::to_string(round);
        std::unique_ptr<ChildProcess> old(start(id));
        if (http_get(nginx_.host(), nginx_.port(), "/work?ms=" + std::to_string(kJobMs) + "&id=" + id).status != 202) {
            throw std::runtime_error("the job was not queued");
        }
        Window w;
        Pacer pacer(nginx_.host(), nginx_.port());
        std::this_thread::sleep_for(std::chrono::seconds(1));  // 1 s of load before the deploy
        const Clock::time_point signal_at = Clock::now();
        if (deploy != nullptr) deploy(*old, w, signal_at, pacer, *this);
        std::this_thread::sleep_until(std::max(signal_at + std::chrono::seconds(5), Clock::now() + std::chrono::seconds(1)));
        w.samples = pacer.stop();
        if (deploy == nullptr) {
            old->signal(SIGTERM);
            w.old_ok = old->wait_exit(kLimit) && old->exit_code() == 0;
        }
        w.old_ok = w.old_ok && count_lines_with(tmp_.file("jobs"), "done " + id) == 1;
        // Whatever serves now stops, and is gone before the next window.
        if (successor_ > 0) {
            ::kill(static_cast<pid_t>(successor_), SIGTERM);
            for (auto until = Clock::now() + kLimit; !process_gone(successor_) && Clock::now() < until;) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            successor_ = 0;
        }
        if (next_) {
            next_->signal(SIGTERM);
            next_->wait_exit(kLimit);
            next_.reset();
        }
        return w;
    }

    const std::string demo_;
    TempDir tmp_;
    const int held_;
    NginxProcess nginx_;
    long successor_ = 0;                  // a reload's successor, not our child
    std::unique_ptr<ChildProcess> next_;  // the process a stop-and-start started
};

struct Row {
    std::vector<long long> latencies;
    std::vector<long long> longest;  // each round's
    std::size_t non_2xx = 0;
    long long new_pid_after_ms = -1;  // the worst round
    std::vector<long long> new_pid_rounds;
    bool old_ok = true;
    void add(const Window& w) {
        long long round_max = 0;
        for (const Sample& s : w.samples) {
            latencies.push_back(ms(s.answered - s.due));
            round_max = std::max(round_max, latencies.back());
            if (s.status < 200 || s.status > 299) ++non_2xx;
        }
        longest.push_back(round_max);
        new_pid_after_ms = std::max(new_pid_after_ms, w.new_pid_after_ms);
        new_pid_rounds.push_back(w.new_pid_after_ms);
        old_ok = old_ok && w.old_ok;
    }
    // The median round's longest request: a busy machine's stalls hit single rounds.
    long long median_longest() const { return median(longest); }
    static long long median(std::vector<long long> v) {
        std::sort(v.begin(), v.end());
        return v.empty() ? -1 : v[v.size() / 2];
    }
    // "12 ms" for one round, else "12 ms (median 9 ms)".
    std::string new_pid_text() const {
        std::string t = std::to_string(new_pid_after_ms) + " ms";
        if (new_pid_rounds.size() > 1) t += " (median " + std::to_string(median(new_pid_rounds)) + " ms)";
        return t;
    }
    long long max() const { return latencies.empty() ? -1 : *std::max_element(latencies.begin(), latencies.end()); }
    long long p99() const {
        if (latencies.empty()) return -1;
        std::vector<long long> sorted = latencies;
        std::sort(sorted.begin(), sorted.end());
        return sorted[std::min(sorted.size() - 1, sorted.size() * 99 / 100)];
    }
};

const char* verdict(bool pass) { return pass ? "PASS" : "MISS"; }

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s DEMO_BINARY ROUNDS\n", argv[0]);
        return 2;
    }
    const int rounds = std::max(1, std::atoi(argv[2]));
    Row base, reload, restart;
    try {
        Bench bench(argv[1]);
        for (int round = 0; round < rounds; ++round) {
            base.add(bench.baseline(round));
            reload.add(bench.reload(round));
            restart.add(bench.stop_and_start(round));
            std::fprintf(stderr, "reload_bench: round %d: max %lld / %lld / %lld ms\n", round + 1, base.max(),
                         reload.max(), restart.max());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "reload_bench: %s\n", e.what());
        return 1;
    }
    std::printf("## Deploying a new version behind nginx\n\n"
                "GET /status every %lld ms through nginx (shipped config, fastcgi_keep_conn on) over %u kept\n"
                "connections, the socket held as systemd holds it, a %d ms job in the old process; %d round(s)\n"
                "of three windows each. Latency counts from when a request was due (open loop).\n\n",
                static_cast<long long>(kPeriod.count()), kSenders, kJobMs, rounds);
    std::printf("| window | requests | non-2xx | p99 ms | max ms | median round's max ms | new pid serves after the signal (worst round) |\n"
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    std::printf("| no deploy (baseline) | %zu | %zu | %lld | %lld | %lld | - |\n", base.latencies.size(), base.non_2xx,
                base.p99(), base.max(), base.median_longest());
    std::printf("| reload (SIGUSR2) | %zu | %zu | %lld | %lld | %lld | %s |\n", reload.latencies.size(),
                reload.non_2xx, reload.p99(), reload.max(), reload.median_longest(), reload.new_pid_text().c_str());
    std::printf("| stop and start on the held socket (SIGTERM) | %zu | %zu | %lld | %lld | %lld | %s |\n\n",
                restart.latencies.size(), restart.non_2xx, restart.p99(), restart.max(), restart.median_longest(),
                restart.new_pid_text().c_str());
    const long long extra = reload.max() - base.max();
    std::printf("| target | measured | verdict |\n| --- | --- | --- |\n");
    std::printf("| reload: 0 non-2xx | %zu | %s |\n", reload.non_2xx, verdict(reload.non_2xx == 0));
    std::printf("| reload: longest request at most 100 ms over the baseline's | %+lld ms (%lld vs %lld) | %s |\n",
                extra, reload.max(), base.max(), verdict(extra <= 100));
    const long long median_extra = reload.median_longest() - base.median_longest();
    std::printf("| reload: the median round's longest request at most 100 ms over the baseline's | %+lld ms (%lld vs %lld) | %s |\n",
                median_extra, reload.median_longest(), base.median_longest(), verdict(median_extra <= 100));
    std::printf("| reload: the new process serves within 1 s of SIGUSR2 | %lld ms | %s |\n",
                reload.new_pid_after_ms, verdict(reload.new_pid_after_ms >= 0 && reload.new_pid_after_ms <= 1000));
    std::printf("| reload: the old process finished its job and exited 0 | %s | %s |\n",
                reload.old_ok ? "yes" : "no", verdict(reload.old_ok));
    return 0;
}
