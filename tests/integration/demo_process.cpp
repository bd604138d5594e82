#include "integration/demo_process.hpp"

#include "support/http_client.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <sstream>
#include <stdexcept>

namespace fcgihost {
namespace testing_support {

std::string demo_binary() { return runner_dir() + "/fcgihost-demo"; }

DemoProcess::DemoProcess(const std::vector<std::string>& extra_args)
    : socket_(dir_.file("demo.sock")), job_log_(dir_.file("jobs.log")) {
    std::vector<std::string> argv = {demo_binary(), "--socket", socket_, "--job-log", job_log_};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_.reset(new ChildProcess(argv, dir_.file("demo.log")));
    if (!process_->wait_for_log("listening on", std::chrono::seconds(10))) {
        throw std::runtime_error("fcgihost-demo did not start; its log:\n" + process_->log());
    }
}

int DemoProcess::stop(int sig, std::chrono::milliseconds limit) {
    process_->signal(sig);
    return process_->wait_exit(limit) ? process_->exit_code() : -1;
}

std::unique_ptr<ChildProcess> start_on_free_port(const std::string& host, std::vector<std::string> argv,
                                                 const std::string& log_path, const std::vector<std::string>& env,
                                                 int& port, std::chrono::milliseconds limit) {
    argv.push_back("--listen");
    argv.push_back("");
    std::unique_ptr<ChildProcess> demo;
    for (int attempt = 0; attempt < 3; ++attempt) {
        port = free_local_port();
        argv.back() = host + ":" + std::to_string(port);
        demo.reset(new ChildProcess(argv, log_path, env));
        const std::string listening = "listening on tcp:" + argv.back();
        eventually([&] { return demo->exited() || demo->log().find(listening) != std::string::npos; }, limit);
        if (!demo->exited() || demo->log().find("Address already in use") == std::string::npos) break;
    }
    return demo;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit,
                std::chrono::milliseconds step) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        poll(nullptr, 0, static_cast<int>(step.count()));
    }
}

std::size_t count_exact_lines(const std::string& path, const std::string& line) {
    std::istringstream text(read_file(path));
    std::size_t count = 0;
    for (std::string each; std::getline(text, each);) count += each == line ? 1 : 0;
    return count;
}

long long status_number(const std::string& json, const std::string& field) {
    std::string key = "\"" + field + "\":";
    std::size_t at = json.find(key);
    if (at == std::string::npos) return -1;
    return std::stoll(json.substr(at + key.size()));
}

long long number_after(const std::string& text, const std::string& label) {
    const std::size_t at = text.find(label);
    if (at == std::string::npos) return -1;
    const std::size_t from = at + label.size();
    const std::size_t to = text.find_first_not_of("0123456789", from);
    if (to == from) return -1;
    return std::stoll(text.substr(from, to - from));
}

long successor_pid(const std::string& log) { return static_cast<long>(number_after(log, "started successor pid ")); }

bool stop_successor(long pid, std::chrono::milliseconds limit) {
    if (pid <= 0) return true;
    kill(static_cast<pid_t>(pid), SIGTERM);
    return eventually([pid] { return process_gone(pid); }, limit);
}

}  // namespace testing_support
}  // namespace fcgihost
