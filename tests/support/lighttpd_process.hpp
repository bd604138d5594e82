// LighttpdProcess: a real lighttpd (Debian's lighttpd package) serving docs/deploy/
// lighttpd.conf, the config users copy, on 127.0.0.1 on a free port, forwarding to an
// fcgihost socket. Foreground (-D); its error log, pid file and upload dir in its temp dir.
// Run as root it drops to www-data as the sample says, so the socket must be reachable by
// that group.
#pragma once

#include "support/frontend_process.hpp"

#include <string>

namespace fcgihost {
namespace testing_support {

std::string lighttpd_binary();  // /usr/sbin/lighttpd; throws if missing
// "www-data" when the tests run as root (lighttpd drops to it), "" otherwise.
std::string lighttpd_user();

// docs/deploy/lighttpd.conf forwarding to `socket`, bound to 127.0.0.1:`port`, its own
// files in `dir`. Throws std::runtime_error if the sample cannot be read or no longer has
// what this replaces.
std::string render_lighttpd_config(const std::string& socket, int port, const std::string& dir);

class LighttpdProcess : public FrontendProcess {
public:
    // Starts lighttpd (see FrontendProcess); SIGINT, its graceful stop, stops it.
    explicit LighttpdProcess(const std::string& socket);
    std::string error_log() const;
};

}  // namespace testing_support
}  // namespace fcgihost
