#include "support/lighttpd_process.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace fcgihost {
namespace testing_support {

std::string lighttpd_binary() { return find_executable({"/usr/sbin/lighttpd"}, "lighttpd"); }

std::string lighttpd_user() { return geteuid() == 0 ? "www-data" : ""; }

std::string render_lighttpd_config(const std::string& socket, int port, const std::string& dir) {
    const std::string user_lines = lighttpd_user().empty()
                                       ? ""
                                       : "server.username      = \"www-data\"\nserver.groupname     = \"www-data\"\n";
    return render_sample(repo_deploy_dir() + "/lighttpd.conf",
                         {{"server.username      = \"www-data\"\nserver.groupname     = \"www-data\"\n", user_lines},
                          {"server.port          = 80\n",
                           "server.bind          = \"127.0.0.1\"\nserver.port          = " + std::to_string(port) + "\n"},
                          {"/run/fcgihost/fcgihost.sock", socket},
                          {"/var/www/html", dir},
                          {"/var/log/lighttpd/error.log", dir + "/error.log"},
                          {"/run/lighttpd.pid", dir + "/lighttpd.pid"},
                          {"/var/cache/lighttpd/uploads", dir + "/uploads"}});
}

LighttpdProcess::LighttpdProcess(const std::string& socket)
    : FrontendProcess("lighttpd",
                      [socket](const std::string& dir, int port) {
                          const std::string uploads = dir + "/uploads";
                          if (mkdir(uploads.c_str(), 0700) != 0 && errno != EEXIST) {
                              throw std::runtime_error("cannot create " + uploads);
                          }
                          // lighttpd opens its error log and writes request bodies after it has
                          // dropped to its user (Debian gives it /var/log/lighttpd and
                          // /var/cache/lighttpd for that).
                          write_text_file(dir + "/error.log", "");
                          if (!lighttpd_user().empty()) {
                              give_to(uploads, lighttpd_user(), lighttpd_user());
                              give_to(dir + "/error.log", lighttpd_user(), lighttpd_user());
                          }
                          write_text_file(dir + "/lighttpd.conf", render_lighttpd_config(socket, port, dir));
                          return FrontendCommand{{lighttpd_binary(), "-D", "-f", dir + "/lighttpd.conf"}, {}};
                      },
                      SIGINT) {}

std::string LighttpdProcess::error_log() const { return read_file(dir() + "/error.log"); }

}  // namespace testing_support
}  // namespace fcgihost
