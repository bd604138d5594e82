#include "support/haproxy_process.hpp"

#include <signal.h>
#include <unistd.h>

namespace fcgihost {
namespace testing_support {
namespace {

const char* const kSampleOptions = "    option keep-conn\n";

std::string fcgi_app_options(HaproxyFcgiApp variant) {
    switch (variant) {
    case HaproxyFcgiApp::defaults: return "";
    case HaproxyFcgiApp::keep_conn: return kSampleOptions;
    case HaproxyFcgiApp::mpxs_conns: return std::string(kSampleOptions) + "    option mpxs-conns\n";
    case HaproxyFcgiApp::get_values: return std::string(kSampleOptions) + "    option get-values\n";
    }
    return kSampleOptions;
}

}  // namespace

std::string haproxy_binary() { return find_executable({"/usr/sbin/haproxy"}, "haproxy"); }

std::string haproxy_user() { return geteuid() == 0 ? "haproxy" : ""; }

std::string render_haproxy_config(const std::string& socket, int port, HaproxyFcgiApp variant) {
    // Without root HAProxy cannot switch users: it keeps the tests' own.
    const std::string user_lines = haproxy_user().empty() ? "" : "    user haproxy\n    group haproxy\n";
    return render_sample(repo_deploy_dir() + "/haproxy.cfg",
                         {{"    user haproxy\n    group haproxy\n", user_lines},
                          {"    bind :80\n", "    bind 127.0.0.1:" + std::to_string(port) + "\n"},
                          {"/run/fcgihost/fcgihost.sock", socket},
                          {kSampleOptions, fcgi_app_options(variant)}});
}

HaproxyProcess::HaproxyProcess(const std::string& socket, HaproxyFcgiApp variant)
    : FrontendProcess("haproxy",
                      [socket, variant](const std::string& dir, int port) {
                          write_text_file(dir + "/haproxy.cfg", render_haproxy_config(socket, port, variant));
                          return FrontendCommand{
                              {haproxy_binary(), "-db", "-f", dir + "/haproxy.cfg", "-p", dir + "/haproxy.pid"}, {}};
                      },
                      SIGTERM) {}

}  // namespace testing_support
}  // namespace fcgihost
