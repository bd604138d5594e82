// FrontendProcess: a real web server from Debian's packages (HAProxy, lighttpd, Caddy) in
// front of an fcgihost socket, for the end-to-end tests: the common part of HaproxyProcess,
// LighttpdProcess and CaddyProcess. Each of those renders a sample config users copy
// (docs/deploy/*) into a temp dir for a free port on 127.0.0.1 and names the command line;
// this class starts it in the foreground, waits until the port accepts connections, and
// stops it by its PID. Not thread-safe: one thread drives it (any thread may read port()).
#pragma once

#include "support/process.hpp"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fcgihost {
namespace testing_support {

std::string repo_deploy_dir();  // <dir of this test runner>/../docs/deploy

// The first of `candidates` that is executable; throws std::runtime_error naming the
// Debian package otherwise.
std::string find_executable(const std::vector<std::string>& candidates, const std::string& package);

// The text of `path` with each `from` replaced by its `to`. Throws std::runtime_error if the
// file cannot be read or a `from` does not occur in it: a sample edited so that the test no
// longer replaces what it means to would otherwise pass unnoticed.
std::string render_sample(const std::string& path, const std::vector<std::pair<std::string, std::string>>& edits);

void write_text_file(const std::string& path, const std::string& text);  // throws std::runtime_error

// Gives `path` to the user and group named (chown; mode unchanged). Throws if either is
// unknown or chown fails.
void give_to(const std::string& path, const std::string& user, const std::string& group_name);

struct FrontendCommand {
    std::vector<std::string> argv;
    std::vector<std::string> env;  // as ChildProcess takes it
};

class FrontendProcess {
public:
    FrontendProcess(const FrontendProcess&) = delete;
    FrontendProcess& operator=(const FrontendProcess&) = delete;

    // `prepare(dir, port)` writes the server's files for `port` into `dir` (a fresh temp dir,
    // mode 0755) and returns its command line. Starts it and returns once 127.0.0.1:port
    // accepts connections. A port taken in the meantime (the server's output says "in use")
    // is retried with another. Throws std::runtime_error with the server's output if it
    // does not start; nothing is left running then.
    FrontendProcess(const std::string& name, std::function<FrontendCommand(const std::string& dir, int port)> prepare,
                    int stop_signal);
    // stop() if still running; if the server does not exit, SIGKILL to everything under it,
    // then to it, by PID.
    ~FrontendProcess();

    const std::string& host() const { return host_; }
    int port() const { return port_; }
    pid_t pid() const { return process_->pid(); }
    const std::string& dir() const { return dir_.path(); }
    std::string output() const { return process_->log(); }  // stdout and stderr

    // The stop signal given at construction and the wait for the exit. Returns the exit
    // code, or -1 if it did not exit in time.
    int stop(std::chrono::milliseconds limit = std::chrono::seconds(15));

private:
    // True once the port accepts, false if the server exited because the port was taken.
    bool start_on(int port);
    void kill_everything();

    std::string name_;
    std::function<FrontendCommand(const std::string&, int)> prepare_;
    int stop_signal_;
    TempDir dir_;
    const std::string host_ = "127.0.0.1";
    int port_ = 0;
    std::unique_ptr<ChildProcess> process_;
};

}  // namespace testing_support
}  // namespace fcgihost
