// ApacheProcess: a real Apache httpd 2.4 (Debian's apache2 package) for the end-to-end
// tests, serving one of the sample configs users copy (apache/*.conf), rendered with its
// placeholders replaced, inside an httpd.conf of its own: ServerRoot, pid file, error log
// and mod_fcgid's IPC dir and process table in a temp dir, listening on 127.0.0.1 on a
// free port, in the foreground (-D FOREGROUND) and in a session of its own (setsid), so
// that nothing Apache sends to its process group reaches the test runner.
//
// Run as root, Apache's children switch to www-data: whatever they use (the demo under
// mod_fcgid, its job log, a socket under mod_proxy_fcgi) must be reachable by that user.
// share_with_apache() and copy_for_apache() prepare a test's own directory for that.
//
// Not thread-safe: one thread drives it (any thread may call port(), get(), post()).
#pragma once

#include "support/http_client.hpp"
#include "support/process.hpp"

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fcgihost {
namespace testing_support {

enum class ApacheModule { proxy_fcgi, fcgid };

std::string apache_binary();    // /usr/sbin/apache2; throws std::runtime_error if missing
std::string repo_apache_dir();  // <dir of this test runner>/../apache: build/ sits beside apache/
// "www-data" when the tests run as root (Apache's children switch to it), "" otherwise
// (Apache keeps the tests' own user).
std::string apache_user();

// apache/<name> with every "@NAME@" of `values` replaced. Throws std::runtime_error if the
// file cannot be read or a placeholder is left unreplaced.
std::string render_apache_sample(const std::string& name,
                                 const std::vector<std::pair<std::string, std::string>>& values);

// Writes a whole ServerRoot into `dir` (which must exist): site.conf holding `site`, and
// httpd.conf around it with the modules `module` needs, then `overrides` after the site,
// where they win over its server-wide settings. Returns httpd.conf's path.
std::string write_apache_config(const std::string& dir, ApacheModule module, int port, const std::string& site,
                                const std::string& overrides = "");

// `apache2 -t` on a config: its exit status and output ("Syntax OK", or the error).
struct ApacheSyntaxCheck {
    int exit_code = -1;
    std::string output;
};
ApacheSyntaxCheck apache_syntax_check(const std::string& httpd_conf);

// Lets Apache's user into `dir` and lets it create files there (mode 01777, like /tmp).
void share_with_apache(const std::string& dir);
// Copies `executable` into `dir` (mode 0755) and returns the copy's path: under mod_fcgid
// Apache's user runs it, and may have no way into the build directory.
std::string copy_for_apache(const std::string& executable, const std::string& dir);


class ApacheProcess {
public:
    ApacheProcess(const ApacheProcess&) = delete;
    ApacheProcess& operator=(const ApacheProcess&) = delete;

    // Writes httpd.conf around `site` in a fresh temp dir, starts Apache and returns once it
    // has opened its port and started its children (nothing is asked of the application, so
    // mod_fcgid starts no process before the test's first request). A port taken in the
    // meantime is retried with another. Throws std::runtime_error with Apache's output and
    // error log if it does not start; nothing is left running then.
    ApacheProcess(ApacheModule module, const std::string& site, const std::string& overrides = "");
    // stop() if still running; if Apache does not exit, SIGKILL to every process under it
    // (workers, mod_fcgid's process manager and the applications it started), then to
    // Apache itself, each by PID.
    ~ApacheProcess();

    const std::string& host() const { return host_; }
    int port() const { return port_; }
    pid_t pid() const { return process_->pid(); }
    std::string error_log_path() const;
    std::string error_log() const;  // its text; under mod_fcgid it holds the application's stderr
    bool wait_for_error_log(const std::string& needle, std::chrono::milliseconds limit) const;

    HttpResponse get(const std::string& target) const { return http_get(host_, port_, target); }
    HttpResponse post(const std::string& target, const std::string& body) const {
        return http_post(host_, port_, target, body);
    }

    // What `apache2 -k graceful` does: SIGUSR1 to Apache. Returns at once.
    void graceful();
    // After graceful(): true once Apache serves again (its next "resuming normal
    // operations" line). Under mod_fcgid that is after every application process has gone.
    bool wait_reloaded(std::chrono::milliseconds limit) const;

    // SIGTERM (`apache2 -k stop`) and the wait for its exit. Returns the exit code, or -1 if
    // it did not exit in time.
    int stop(std::chrono::milliseconds limit = std::chrono::seconds(20));

private:
    // Starts Apache on `port`; true once it serves, false if it exited because the port was
    // taken. Throws for any other failure.
    bool start_on(int port);
    std::size_t generations_started() const;  // "resuming normal operations" lines so far
    void kill_everything();

    ApacheModule module_;
    std::string site_;
    std::string overrides_;
    TempDir dir_;
    const std::string host_ = "127.0.0.1";
    int port_ = 0;
    std::size_t generations_expected_ = 1;  // after the last graceful()
    std::unique_ptr<ChildProcess> process_;
};

}  // namespace testing_support
}  // namespace fcgihost
