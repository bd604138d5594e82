#include "support/apache_process.hpp"

#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace fcgihost {
namespace testing_support {
namespace {

const char* const kModules = "/usr/lib/apache2/modules";
const char* const kServing = "AH00489";  // "... configured -- resuming normal operations"
const char* const kPortTaken = "could not bind to address";

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

std::string load_module(const std::string& name, const std::string& file) {
    return "LoadModule " + name + " " + kModules + "/" + file + "\n";
}

}  // namespace

std::string apache_binary() {
    const std::string path = "/usr/sbin/apache2";
    if (access(path.c_str(), X_OK) != 0) throw std::runtime_error(path + " is missing: apt-get install apache2");
    return path;
}

std::string repo_apache_dir() { return runner_dir() + "/../apache"; }

std::string apache_user() { return geteuid() == 0 ? "www-data" : ""; }

std::string render_apache_sample(const std::string& name,
                                 const std::vector<std::pair<std::string, std::string>>& values) {
    const std::string path = repo_apache_dir() + "/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    std::string out = text.str();
    for (const auto& value : values) {
        for (std::size_t at = out.find(value.first); at != std::string::npos;
             at = out.find(value.first, at + value.second.size())) {
            out.replace(at, value.first.size(), value.second);
        }
    }
    // A placeholder is @NAME@ with NAME in capitals and underscores.
    for (std::size_t at = out.find('@'); at != std::string::npos; at = out.find('@', at + 1)) {
        std::size_t end = out.find('@', at + 1);
        if (end == std::string::npos) break;
        std::string name = out.substr(at + 1, end - at - 1);
        if (!name.empty() && name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string::npos) {
            throw std::runtime_error(path + ": placeholder @" + name + "@ not replaced");
        }
    }
    return out;
}

std::string write_apache_config(const std::string& dir, ApacheModule module, int port, const std::string& site,
                                const std::string& overrides) {
    std::filesystem::create_directories(dir + "/htdocs");
    write_text(dir + "/site.conf", site);
    std::ostringstream conf;
    conf << "# Written by the tests (tests/support/apache_process.cpp): one Apache, all in " << dir << ".\n"
         << "ServerRoot \"" << dir << "\"\n"
         << "ServerName 127.0.0.1\n"
         << "Listen 127.0.0.1:" << port << "\n"
         << "PidFile \"" << dir << "/httpd.pid\"\n"
         << "DefaultRuntimeDir \"" << dir << "\"\n"
         << "ErrorLog \"" << dir << "/error.log\"\n"
         << "LogLevel info\n"
         << "DocumentRoot \"" << dir << "/htdocs\"\n";
    if (!apache_user().empty()) conf << "User " << apache_user() << "\nGroup " << apache_user() << "\n";
    // One child process of 25 threads is plenty for the tests and keeps two cores free.
    conf << load_module("mpm_event_module", "mod_mpm_event.so")
         << "StartServers 1\nServerLimit 2\nThreadsPerChild 25\nMaxRequestWorkers 50\n"
         << "MinSpareThreads 5\nMaxSpareThreads 50\n"
         << load_module("authz_core_module", "mod_authz_core.so")
         << load_module("authz_host_module", "mod_authz_host.so");
    if (module == ApacheModule::proxy_fcgi) {
        conf << load_module("proxy_module", "mod_proxy.so") << load_module("proxy_fcgi_module", "mod_proxy_fcgi.so");
    } else {
        conf << load_module("fcgid_module", "mod_fcgid.so")
             << "FcgidIPCDir \"" << dir << "/fcgid-ipc\"\n"
             << "FcgidProcessTableFile \"" << dir << "/fcgid-shm\"\n";
    }
    conf << "Include \"" << dir << "/site.conf\"\n" << overrides << "\n";
    const std::string path = dir + "/httpd.conf";
    write_text(path, conf.str());
    return path;
}

ApacheSyntaxCheck apache_syntax_check(const std::string& httpd_conf) {
    TempDir scratch;
    ChildProcess check({apache_binary(), "-t", "-f", httpd_conf}, scratch.file("check.out"));
    ApacheSyntaxCheck result;
    if (check.wait_exit(std::chrono::seconds(20))) result.exit_code = check.exit_code();
    result.output = check.log();
    return result;
}

void share_with_apache(const std::string& dir) {
    if (chmod(dir.c_str(), 01777) != 0) throw std::runtime_error("chmod " + dir + ": " + std::strerror(errno));
}

std::string copy_for_apache(const std::string& executable, const std::string& dir) {
    const std::string copy = dir + "/" + executable.substr(executable.rfind('/') + 1);
    std::filesystem::copy_file(executable, copy, std::filesystem::copy_options::overwrite_existing);
    if (chmod(copy.c_str(), 0755) != 0) throw std::runtime_error("chmod " + copy + ": " + std::strerror(errno));
    return copy;
}

ApacheProcess::ApacheProcess(ApacheModule module, const std::string& site, const std::string& overrides)
    : module_(module), site_(site), overrides_(overrides) {
    // Apache's user must reach mod_fcgid's IPC dir, which lies in here.
    if (chmod(dir_.path().c_str(), 0755) != 0) {
        throw std::runtime_error("chmod " + dir_.path() + ": " + std::strerror(errno));
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (start_on(free_local_port())) return;
    }
    throw std::runtime_error("apache2 found no free port in 5 attempts");
}

ApacheProcess::~ApacheProcess() {
    if (process_ == nullptr || process_->exited()) return;
    if (stop() < 0) kill_everything();
}

bool ApacheProcess::start_on(int port) {
    port_ = port;
    const std::string conf = write_apache_config(dir_.path(), module_, port, site_, overrides_);
    std::remove(error_log_path().c_str());
    // setsid(1) execs Apache in place (a spawned child is never a group leader), so the PID
    // stays the one ChildProcess knows.
    process_.reset(new ChildProcess({"/usr/bin/setsid", apache_binary(), "-f", conf, "-D", "FOREGROUND"},
                                    dir_.file("apache.out")));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        if (wait_for_error_log(kServing, std::chrono::milliseconds(100))) {
            generations_expected_ = 1;
            return true;
        }
        if (process_->exited()) {
            std::string out = process_->log();
            if (out.find(kPortTaken) != std::string::npos) return false;
            throw std::runtime_error("apache2 exited with " + std::to_string(process_->exit_code()) +
                                     "; its output:\n" + out + "\nits error log:\n" + error_log());
        }
    }
    std::string out = process_->log();
    kill_everything();
    throw std::runtime_error("apache2 did not start in 20 s; its output:\n" + out + "\nits error log:\n" +
                             error_log());
}

std::string ApacheProcess::error_log_path() const { return dir_.file("error.log"); }

std::string ApacheProcess::error_log() const { return read_file(error_log_path()); }

bool ApacheProcess::wait_for_error_log(const std::string& needle, std::chrono::milliseconds limit) const {
    return wait_for_file_text(error_log_path(), needle, limit);
}

std::size_t ApacheProcess::generations_started() const { return count_lines_with(error_log_path(), kServing); }

void ApacheProcess::graceful() {
    generations_expected_ = generations_started() + 1;
    process_->signal(SIGUSR1);
}

bool ApacheProcess::wait_reloaded(std::chrono::milliseconds limit) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (generations_started() >= generations_expected_) return true;
        if (std::chrono::steady_clock::now() >= deadline || process_->exited()) return false;
        // The line is awaited by polling: every generation writes the same text.
        poll(nullptr, 0, 20);
    }
}

int ApacheProcess::stop(std::chrono::milliseconds limit) {
    process_->signal(SIGTERM);
    return process_->wait_exit(limit) ? process_->exit_code() : -1;
}

void ApacheProcess::kill_everything() {
    for (pid_t pid : descendants_of(process_->pid())) ::kill(pid, SIGKILL);
    process_->signal(SIGKILL);
    process_->wait_exit(std::chrono::seconds(5));
}

}  // namespace testing_support
}  // namespace fcgihost
