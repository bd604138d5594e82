#include "support/caddy_process.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace fcgihost {
namespace testing_support {

std::string caddy_binary() { return find_executable({"/usr/bin/caddy"}, "caddy"); }

std::string caddy_user() { return geteuid() == 0 ? "caddy" : ""; }

std::string render_caddyfile(const std::string& socket, int port) {
    return render_sample(repo_deploy_dir() + "/Caddyfile",
                         {{"admin localhost:2019", "admin off"},
                          {"http://:80 {", "http://127.0.0.1:" + std::to_string(port) + " {"},
                          {"unix//run/fcgihost/fcgihost.sock", "unix/" + socket}});
}

CaddyProcess::CaddyProcess(const std::string& socket)
    : FrontendProcess("caddy",
                      [socket](const std::string& dir, int port) {
                          // Caddy keeps its data (autosave.json, certificates) under HOME/XDG dirs.
                          const std::string home = dir + "/home";
                          if (mkdir(home.c_str(), 0700) != 0 && errno != EEXIST) {
                              throw std::runtime_error("cannot create " + home);
                          }
                          if (!caddy_user().empty()) give_to(home, caddy_user(), caddy_user());
                          write_text_file(dir + "/Caddyfile", render_caddyfile(socket, port));
                          FrontendCommand command;
                          if (!caddy_user().empty()) {
                              command.argv = {"/usr/bin/setpriv", "--reuid=" + caddy_user(),
                                              "--regid=" + caddy_user(), "--init-groups"};
                          }
                          command.argv.insert(command.argv.end(), {caddy_binary(), "run", "--config",
                                                                   dir + "/Caddyfile", "--adapter", "caddyfile"});
                          command.env = {"HOME=" + home, "XDG_DATA_HOME=" + home + "/data",
                                         "XDG_CONFIG_HOME=" + home + "/config"};
                          return command;
                      },
                      SIGTERM) {}

}  // namespace testing_support
}  // namespace fcgihost
