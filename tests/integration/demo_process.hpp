// DemoProcess: a real fcgihost-demo process on a unix socket in a temp dir, for the
// integration tests. The binary is found next to the test runner (both are built into the
// same directory), so the tests run from any working directory.
#pragma once

#include "support/fcgi_client.hpp"
#include "support/process.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fcgihost {
namespace testing_support {

std::string demo_binary();  // <dir of this test runner>/fcgihost-demo

class DemoProcess {
public:
    DemoProcess(const DemoProcess&) = delete;
    DemoProcess& operator=(const DemoProcess&) = delete;

    // Starts the demo with --socket and --job-log in a fresh temp dir, plus `extra_args`,
    // and waits until it logs that it is listening. Throws std::runtime_error (with the
    // process's log) if it does not start.
    explicit DemoProcess(const std::vector<std::string>& extra_args = {});

    ChildProcess& process() { return *process_; }
    const std::string& socket_path() const { return socket_; }
    const std::string& job_log() const { return job_log_; }
    std::string log() const { return process_->log(); }

    FcgiResponse get(const std::string& uri) const { return fcgi_get(socket_, uri); }
    FcgiResponse post(const std::string& uri, const std::string& body) const { return fcgi_post(socket_, uri, body); }
    std::size_t done_lines() const { return count_lines_with(job_log_, "done "); }

    // Signals and waits for the exit; returns the exit code, or -1 if it did not exit in time.
    int stop(int sig, std::chrono::milliseconds limit = std::chrono::seconds(20));

private:
    TempDir dir_;
    std::string socket_;
    std::string job_log_;
    std::unique_ptr<ChildProcess> process_;
};

// A demo started with `argv` plus --listen HOST:PORT on a loopback port that was free a
// moment ago, waited for until it listens or ends (at most `limit` per attempt). Between
// that probe and the demo's bind another process can take the port (the local end of any
// connect will do): the demo then exits 1 with "Address already in use", and a new port is
// tried, three times at most. `port` is the last one tried; the process is returned
// listening, or as it ended.
std::unique_ptr<ChildProcess> start_on_free_port(const std::string& host, std::vector<std::string> argv,
                                                 const std::string& log_path, const std::vector<std::string>& env,
                                                 int& port, std::chrono::milliseconds limit);

// Calls `condition` until it is true or `limit` passes, checking every `step`. For state
// that can only be observed by asking (a counter behind /status); returns the last result.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit,
                std::chrono::milliseconds step = std::chrono::milliseconds(10));

// Lines of the file equal to `line` (without its newline).
std::size_t count_exact_lines(const std::string& path, const std::string& line);

// A number out of the demo's /status JSON, e.g. status_number(json, "failed"); -1 if absent.
long long status_number(const std::string& json, const std::string& field);
// The number right after the first `label` in `text` (a log), e.g.
// number_after(log, "started successor pid "); -1 if the label or the digits are absent.
long long number_after(const std::string& text, const std::string& label);

// Reload helpers. The pid a demo's log names in "started successor pid N"; -1 if none yet.
long successor_pid(const std::string& log);
// SIGTERM to a successor (not the test's child: its parent was the old process) and the
// wait until it is gone, at most `limit`; true if it went.
bool stop_successor(long pid, std::chrono::milliseconds limit = std::chrono::seconds(20));

}  // namespace testing_support
}  // namespace fcgihost
