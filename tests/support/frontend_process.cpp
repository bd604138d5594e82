#include "support/frontend_process.hpp"

#include "support/http_client.hpp"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace fcgihost {
namespace testing_support {
namespace {

using Clock = std::chrono::steady_clock;

const std::chrono::seconds kStartLimit(20);

bool accepts_connections(const std::string& host, int port) {
    try {
        HttpConnection probe(host, port, std::chrono::seconds(1));
        return true;
    } catch (const HttpError&) {
        return false;
    }
}

}  // namespace

std::string repo_deploy_dir() { return runner_dir() + "/../docs/deploy"; }

std::string find_executable(const std::vector<std::string>& candidates, const std::string& package) {
    for (const std::string& path : candidates) {
        if (access(path.c_str(), X_OK) == 0) return path;
    }
    throw std::runtime_error(candidates.front() + " not found (apt-get install " + package + "; `make test` does it)");
}

std::string render_sample(const std::string& path, const std::vector<std::pair<std::string, std::string>>& edits) {
    std::string text = read_file(path);
    if (text.empty()) throw std::runtime_error("cannot read " + path);
    for (const auto& edit : edits) {
        std::size_t at = text.find(edit.first);
        if (at == std::string::npos) throw std::runtime_error(path + ": no '" + edit.first + "' to replace");
        for (; at != std::string::npos; at = text.find(edit.first, at + edit.second.size())) {
            text.replace(at, edit.first.size(), edit.second);
        }
    }
    return text;
}

void write_text_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

void give_to(const std::string& path, const std::string& user, const std::string& group_name) {
    const passwd* pw = getpwnam(user.c_str());
    const struct group* gr = getgrnam(group_name.c_str());
    if (pw == nullptr || gr == nullptr) throw std::runtime_error("no user " + user + " or group " + group_name);
    if (chown(path.c_str(), pw->pw_uid, gr->gr_gid) != 0) {
        throw std::runtime_error("chown " + path + ": " + std::strerror(errno));
    }
}

FrontendProcess::FrontendProcess(const std::string& name,
                                 std::function<FrontendCommand(const std::string& dir, int port)> prepare,
                                 int stop_signal)
    : name_(name), prepare_(std::move(prepare)), stop_signal_(stop_signal) {
    // A server that drops to its own user must still read its config in here.
    if (chmod(dir_.path().c_str(), 0755) != 0) throw std::runtime_error("chmod " + dir_.path());
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (start_on(free_local_port())) return;
    }
    throw std::runtime_error(name_ + ": no free port after 3 attempts; output:\n" + output());
}

FrontendProcess::~FrontendProcess() {
    if (process_ && !process_->exited() && stop() < 0) kill_everything();
}

bool FrontendProcess::start_on(int port) {
    FrontendCommand command = prepare_(dir_.path(), port);
    process_.reset(new ChildProcess(command.argv, dir_.file(name_ + ".out"), command.env));
    const auto deadline = Clock::now() + kStartLimit;
    for (;;) {
        if (accepts_connections(host_, port)) {
            port_ = port;
            return true;
        }
        // The pause between probes: the wait for an early exit (a port taken, a bad config).
        if (process_->wait_exit(std::chrono::milliseconds(20))) {
            const std::string out = output();
            if (out.find("in use") != std::string::npos) return false;
            throw std::runtime_error(name_ + " exited with status " + std::to_string(process_->exit_code()) +
                                     "; output:\n" + out);
        }
        if (Clock::now() > deadline) {
            kill_everything();
            throw std::runtime_error(name_ + " did not accept on port " + std::to_string(port) + "; output:\n" +
                                     output());
        }
    }
}

int FrontendProcess::stop(std::chrono::milliseconds limit) {
    process_->signal(stop_signal_);
    return process_->wait_exit(limit) ? process_->exit_code() : -1;
}

void FrontendProcess::kill_everything() {
    if (process_->exited()) return;
    for (pid_t child : descendants_of(process_->pid())) ::kill(child, SIGKILL);
    process_->signal(SIGKILL);
    process_->wait_exit(std::chrono::seconds(10));
}

}  // namespace testing_support
}  // namespace fcgihost
