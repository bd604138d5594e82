// NginxProcess: a real nginx (Debian's package) in front of an fcgihost socket, for the
// end-to-end tests. It serves the site config users copy, nginx/fcgihost.conf, rendered the
// way `make run` renders it (@SOCKET@, @LISTEN@), inside a main nginx.conf of its own: own
// prefix, pid file, error log and temp paths in a temp dir, `daemon off; master_process on;`,
// listening on 127.0.0.1 on a free port. The test owns the master's PID and stops it by
// that PID. Not thread-safe: one thread drives it (any thread may read port()).
#pragma once

#include "support/process.hpp"

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fcgihost {
namespace testing_support {

std::string nginx_binary();           // /usr/sbin/nginx, else nginx on $PATH; throws if neither
std::string repo_nginx_dir();         // <dir of this test runner>/../nginx: build/ sits beside nginx/
std::string system_fastcgi_params();  // /etc/nginx/fastcgi_params; throws if missing

// A change to the shipped site for one test, e.g. {"fastcgi_keep_conn on;",
// "fastcgi_keep_conn off;"}: every occurrence of `first` becomes `second`.
using SiteChanges = std::vector<std::pair<std::string, std::string>>;

// Writes a complete nginx prefix into `dir` (which must exist): fastcgi_params, site.conf
// (nginx/fcgihost.conf with @SOCKET@ and @LISTEN@ replaced, then `changes` made), nginx.conf
// around it, and the temp directories. Returns the path of nginx.conf. Throws
// std::runtime_error if the site config cannot be read or a change's text is not in it.
std::string render_nginx_prefix(const std::string& dir, const std::string& upstream_socket,
                                const std::string& listen, const SiteChanges& changes = {});
// The same with several upstream servers, one `server unix:...;` line each (several hosts
// sharing a durable job store, in one test).
std::string render_nginx_prefix(const std::string& dir, const std::vector<std::string>& upstream_sockets,
                                const std::string& listen, const SiteChanges& changes = {});

// Paths inside a prefix written by render_nginx_prefix.
std::string nginx_conf_path(const std::string& dir);
std::string nginx_error_log_path(const std::string& dir);

class NginxProcess {
public:
    NginxProcess(const NginxProcess&) = delete;
    NginxProcess& operator=(const NginxProcess&) = delete;

    // Renders a prefix in a fresh temp dir that forwards to `upstream_socket`, starts nginx
    // and returns once it accepts connections (the upstream need not exist yet). A port taken
    // by someone else in the meantime is retried with another. Throws std::runtime_error with
    // nginx's output and error log if it does not start; nothing is left running then.
    explicit NginxProcess(const std::string& upstream_socket, const SiteChanges& changes = {});
    explicit NginxProcess(const std::vector<std::string>& upstream_sockets, const SiteChanges& changes = {});
    // stop() if still running; if nginx does not exit, SIGKILL to its workers, then to the
    // master, each by PID (killing the master alone would leave its workers serving).
    ~NginxProcess();

    const std::string& host() const { return host_; }
    int port() const { return port_; }
    pid_t pid() const { return process_->pid(); }
    std::string error_log() const;

    // SIGQUIT, nginx's graceful stop (requests in flight finish, idle connections close),
    // and the wait for its exit. Returns the exit code, or -1 if it did not exit in time.
    int stop(std::chrono::milliseconds limit = std::chrono::seconds(15));

private:
    // Starts nginx on `port`; true once it accepts, false if it exited because the port was
    // taken. Throws for any other failure.
    bool start_on(int port);
    void kill_everything();

    TempDir dir_;
    const std::string host_ = "127.0.0.1";
    int port_ = 0;
    std::unique_ptr<ChildProcess> process_;
};

}  // namespace testing_support
}  // namespace fcgihost
