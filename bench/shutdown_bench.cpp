// Shutdown timing of fcgihost-demo as a real process: from SIGTERM to exit with every
// request thread idle, and from the end of the last job to exit during a drain.
// Prints "name value" lines (milliseconds) for bench/run.sh.
// Usage: shutdown_bench DEMO_BINARY RUNS
#include "support/fcgi_client.hpp"
#include "support/process.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <string>

using namespace fcgihost::testing_support;

namespace {

double now_ms() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double mtime_ms(const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return -1;
    return static_cast<double>(st.st_mtim.tv_sec) * 1000.0 + static_cast<double>(st.st_mtim.tv_nsec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s DEMO_BINARY RUNS\n", argv[0]);
        return 2;
    }
    const std::string demo = argv[1];
    const int runs = std::stoi(argv[2]);
    for (int i = 0; i < runs; ++i) {
        TempDir dir;
        {
            ChildProcess p({demo, "--socket", dir.file("s"), "--threads", "8"}, dir.file("idle.log"));
            if (!p.wait_for_log("listening on", std::chrono::seconds(10))) return 1;
            fcgi_get(dir.file("s"), "/");
            double sent = now_ms();
            p.signal(SIGTERM);
            if (!p.wait_exit(std::chrono::seconds(10))) return 1;
            std::printf("sigterm_idle_to_exit_ms %.2f\n", now_ms() - sent);
        }
        {
            std::string log = dir.file("jobs.log");
            ChildProcess p({demo, "--socket", dir.file("t"), "--job-log", log}, dir.file("drain.log"));
            if (!p.wait_for_log("listening on", std::chrono::seconds(10))) return 1;
            fcgi_get(dir.file("t"), "/work?ms=300&id=last");
            p.signal(SIGTERM);
            if (!p.wait_exit(std::chrono::seconds(10))) return 1;
            double exited = now_ms();
            std::printf("last_job_to_exit_ms %.2f\n", exited - mtime_ms(log));
        }
        std::fflush(stdout);
    }
    return 0;
}
