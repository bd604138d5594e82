#include "support/nginx_process.hpp"

#include "support/http_client.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace fcgihost {
namespace testing_support {
namespace {

using Clock = std::chrono::steady_clock;

const std::chrono::seconds kStartLimit(10);

bool is_executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

void replace_all(std::string& text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
}

void make_dir(const std::string& path) {
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throw std::runtime_error("cannot create " + path);
}

// The main config around the site. Workers run as root when the test does: the temp dirs
// holding the sockets are 0700 and root's, and nginx's default user (nobody) could not
// reach them. A deployment runs them as www-data and gives that group the socket instead.
std::string main_config(const std::string& dir) {
    std::ostringstream c;
    c << "# Written by NginxProcess for one test; the site is nginx/fcgihost.conf.\n"
      << "daemon off;\n"
      << "master_process on;\n"
      << "worker_processes 1;\n"
      << (geteuid() == 0 ? "user root;\n" : "")
      << "pid " << dir << "/nginx.pid;\n"
      << "error_log " << nginx_error_log_path(dir) << " notice;\n"
      << "events { worker_connections 1024; }\n"
      << "http {\n"
      << "    access_log off;\n"
      << "    client_body_temp_path " << dir << "/temp/body;\n"
      << "    fastcgi_temp_path " << dir << "/temp/fastcgi;\n"
      << "    proxy_temp_path " << dir << "/temp/proxy;\n"
      << "    uwsgi_temp_path " << dir << "/temp/uwsgi;\n"
      << "    scgi_temp_path " << dir << "/temp/scgi;\n"
      << "    include " << dir << "/site.conf;\n"
      << "}\n";
    return c.str();
}

bool accepts_connections(const std::string& host, int port) {
    try {
        HttpConnection probe(host, port, std::chrono::seconds(1));
        return true;
    } catch (const HttpError&) {
        return false;
    }
}

}  // namespace

std::string nginx_binary() {
    if (is_executable("/usr/sbin/nginx")) return "/usr/sbin/nginx";
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (!dir.empty() && is_executable(dir + "/nginx")) return dir + "/nginx";
    }
    throw std::runtime_error("nginx not found (apt-get install nginx; `make test` does it)");
}

std::string repo_nginx_dir() { return runner_dir() + "/../nginx"; }

std::string system_fastcgi_params() {
    const std::string path = "/etc/nginx/fastcgi_params";
    if (access(path.c_str(), R_OK) != 0) throw std::runtime_error(path + " not found (it comes with Debian's nginx)");
    return path;
}

std::string nginx_conf_path(const std::string& dir) { return dir + "/nginx.conf"; }
std::string nginx_error_log_path(const std::string& dir) { return dir + "/error.log"; }

std::string render_nginx_prefix(const std::string& dir, const std::string& upstream_socket,
                                const std::string& listen, const SiteChanges& changes) {
    return render_nginx_prefix(dir, std::vector<std::string>{upstream_socket}, listen, changes);
}

std::string render_nginx_prefix(const std::string& dir, const std::vector<std::string>& upstream_sockets,
                                const std::string& listen, const SiteChanges& changes) {
    const std::string site_path = repo_nginx_dir() + "/fcgihost.conf";
    std::string site = read_file(site_path);
    if (site.empty()) throw std::runtime_error("cannot read " + site_path);
    std::string servers;
    for (const std::string& socket : upstream_sockets) {
        servers += (servers.empty() ? "unix:" : ";\n    server unix:") + socket;
    }
    replace_all(site, "unix:@SOCKET@", servers);
    replace_all(site, "@LISTEN@", listen);
    for (const auto& change : changes) {
        if (site.find(change.first) == std::string::npos) {
            throw std::runtime_error(site_path + " has no \"" + change.first + "\" to change");
        }
        replace_all(site, change.first, change.second);
    }
    write_file(dir + "/site.conf", site);
    // The site's `include fastcgi_params` is relative to nginx.conf's directory.
    write_file(dir + "/fastcgi_params", read_file(system_fastcgi_params()));
    make_dir(dir + "/temp");
    write_file(nginx_conf_path(dir), main_config(dir));
    return nginx_conf_path(dir);
}

NginxProcess::NginxProcess(const std::string& upstream_socket, const SiteChanges& changes)
    : NginxProcess(std::vector<std::string>{upstream_socket}, changes) {}

NginxProcess::NginxProcess(const std::vector<std::string>& upstream_sockets, const SiteChanges& changes) {
    for (int attempt = 0; attempt < 3; ++attempt) {
        int port = free_local_port();
        render_nginx_prefix(dir_.path(), upstream_sockets, host_ + ":" + std::to_string(port), changes);
        if (start_on(port)) {
            port_ = port;
            return;
        }
    }
    throw std::runtime_error("nginx: no free port after 3 attempts; error log:\n" + error_log());
}

NginxProcess::~NginxProcess() {
    if (process_ && !process_->exited() && stop() < 0) kill_everything();
}

bool NginxProcess::start_on(int port) {
    write_file(nginx_error_log_path(dir_.path()), "");  // a failed attempt's lines would mislead
    // -e: the error log of the start-up, before nginx.conf is read (the default path
    // /var/log/nginx/error.log may not be writable).
    process_.reset(new ChildProcess({nginx_binary(), "-p", dir_.path() + "/", "-c", nginx_conf_path(dir_.path()),
                                     "-e", nginx_error_log_path(dir_.path())},
                                    dir_.file("nginx.out")));
    // nginx writes its pid file after it has bound its listening socket; the connect then
    // proves the port is ours and open. Between checks, the wait for an early exit (a port
    // taken, a bad config) is the pause.
    const std::string pid_line = std::to_string(process_->pid()) + "\n";
    const auto deadline = Clock::now() + kStartLimit;
    for (;;) {
        if (read_file(dir_.file("nginx.pid")) == pid_line && accepts_connections(host_, port)) return true;
        if (process_->wait_exit(std::chrono::milliseconds(10))) {
            std::string log = error_log();
            if (log.find("Address already in use") != std::string::npos) return false;
            throw std::runtime_error("nginx exited with status " + std::to_string(process_->exit_code()) +
                                     "; output:\n" + process_->log() + "\nerror log:\n" + log);
        }
        if (Clock::now() > deadline) {
            kill_everything();
            throw std::runtime_error("nginx did not start accepting on port " + std::to_string(port) +
                                     "; error log:\n" + error_log());
        }
    }
}

std::string NginxProcess::error_log() const { return read_file(nginx_error_log_path(dir_.path())); }

int NginxProcess::stop(std::chrono::milliseconds limit) {
    process_->signal(SIGQUIT);
    return process_->wait_exit(limit) ? process_->exit_code() : -1;
}

void NginxProcess::kill_everything() {
    if (process_->exited()) return;
    for (pid_t worker : descendants_of(process_->pid())) ::kill(worker, SIGKILL);
    process_->signal(SIGKILL);
    process_->wait_exit(std::chrono::seconds(10));
}

}  // namespace testing_support
}  // namespace fcgihost
