// Enqueue-to-start latency of a durable job across processes, on the real demo: a
// `--workers 0` demo (a web tier) enqueues `/work?durable=1&ms=0` jobs, sent over FastCGI
// SPACING_MS apart, and a second demo on the same store runs them. A job has started when
// its "done ID" line reaches the second demo's log (an ms=0 job logs it as it starts); an
// inotify watch on the log sees the line as it is written. The latency runs from just before
// the request is sent, so it includes the commit of the enqueue.
// Prints one "start_ms X" line per job. Usage: durable_wake_bench DEMO STORE JOBS SPACING_MS DIR
#include "support/fcgi_client.hpp"
#include "support/process.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace fcgihost::testing_support;

namespace {

using Clock = std::chrono::steady_clock;

// Records when each "done bN" line first appears in a growing log file.
class DoneLineWatch {
public:
    DoneLineWatch(const DoneLineWatch&) = delete;
    DoneLineWatch& operator=(const DoneLineWatch&) = delete;

    DoneLineWatch(const std::string& path, std::size_t jobs) : seen_(jobs) {
        inotify_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        file_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (inotify_ < 0 || file_ < 0 || ::pipe(stop_) != 0 || inotify_add_watch(inotify_, path.c_str(), IN_MODIFY) < 0) {
            throw std::runtime_error("cannot watch " + path);
        }
        thread_ = std::thread([this] { run(); });
    }
    ~DoneLineWatch() {
        if (::write(stop_[1], "x", 1) != 1) std::perror("durable_wake_bench: stop");
        thread_.join();
        for (int fd : {inotify_, file_, stop_[0], stop_[1]}) ::close(fd);
    }

    // Start times of every job, once all have started; empty if `limit` passed first.
    std::vector<Clock::time_point> wait_all(std::chrono::milliseconds limit) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!all_seen_.wait_for(lock, limit, [this] { return missing_locked() == 0; })) return {};
        return seen_;
    }

private:
    std::size_t missing_locked() const {
        std::size_t n = 0;
        for (const Clock::time_point& t : seen_) n += t == Clock::time_point{} ? 1 : 0;
        return n;
    }

    void run() {
        pollfd fds[2] = {{inotify_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
        for (;;) {
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                return;  // wait_all then times out and says the jobs did not start
            }
            if (fds[1].revents != 0) return;
            char events[4096];
            while (::read(inotify_, events, sizeof events) > 0) {
            }
            const Clock::time_point now = Clock::now();
            char buf[65536];
            ssize_t n;
            while ((n = ::read(file_, buf, sizeof buf)) > 0) pending_.append(buf, static_cast<std::size_t>(n));
            std::size_t end;
            bool any = false;
            while ((end = pending_.find('\n')) != std::string::npos) {
                any = note(pending_.substr(0, end), now) || any;
                pending_.erase(0, end + 1);
            }
            if (any) all_seen_.notify_all();
        }
    }

    bool note(const std::string& line, Clock::time_point now) {
        const std::size_t at = line.rfind(" done b");
        if (at == std::string::npos || at + 7 >= line.size()) return false;
        const std::string digits = line.substr(at + 7);
        if (digits.find_first_not_of("0123456789") != std::string::npos) return false;
        const std::size_t job = std::stoul(digits);
        std::lock_guard<std::mutex> lock(mutex_);
        if (job >= seen_.size() || seen_[job] != Clock::time_point{}) return false;
        seen_[job] = now;
        return true;
    }

    int inotify_ = -1;
    int file_ = -1;
    int stop_[2] = {-1, -1};
    std::string pending_;  // watch thread only: a line not yet ended
    std::mutex mutex_;
    std::condition_variable all_seen_;
    std::vector<Clock::time_point> seen_;  // guarded by mutex_; zero until the job started
    std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s DEMO STORE JOBS SPACING_MS DIR\n", argv[0]);
        return 2;
    }
    const std::string demo = argv[1], store = argv[2], dir = argv[5];
    const std::size_t jobs = std::stoul(argv[3]);
    const std::chrono::milliseconds spacing(std::stol(argv[4]));
    try {
        // One after the other: how long a start takes is not measured here.
        ChildProcess web({demo, "--socket", dir + "/web.sock", "--workers", "0", "--job-store", store}, dir + "/web.log");
        if (!web.wait_for_log("listening on", std::chrono::seconds(30))) throw std::runtime_error("no start: " + web.log());
        ChildProcess worker({demo, "--socket", dir + "/worker.sock", "--workers", "4", "--job-store", store},
                            dir + "/worker.log");
        if (!worker.wait_for_log("listening on", std::chrono::seconds(30))) {
            throw std::runtime_error("no start: " + worker.log());
        }
        std::vector<Clock::time_point> sent(jobs);
        std::vector<Clock::time_point> started;
        {
            DoneLineWatch watch(dir + "/worker.log", jobs);
            for (std::size_t i = 0; i < jobs; ++i) {
                sent[i] = Clock::now();
                const FcgiResponse r = fcgi_get(dir + "/web.sock", "/work?durable=1&ms=0&id=b" + std::to_string(i));
                if (r.status != 202) throw std::runtime_error("enqueue answered " + std::to_string(r.status) + ": " + r.body);
                std::this_thread::sleep_for(spacing);  // the load pattern: jobs arrive apart
            }
            started = watch.wait_all(std::chrono::seconds(60));
        }
        if (started.empty()) throw std::runtime_error("jobs did not all start: " + worker.log());
        for (std::size_t i = 0; i < jobs; ++i) {
            std::printf("start_ms %.2f\n", std::chrono::duration<double, std::milli>(started[i] - sent[i]).count());
        }
        for (ChildProcess* p : {&web, &worker}) {
            p->signal(SIGTERM);
            if (!p->wait_exit(std::chrono::seconds(30)) || p->exit_code() != 0) {
                throw std::runtime_error("demo did not stop cleanly: " + p->log());
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "durable_wake_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
