// CaddyProcess: a real Caddy (Debian's caddy package) serving docs/deploy/Caddyfile, the
// config users copy, on 127.0.0.1 on a free port, forwarding to an fcgihost socket. Started
// as `caddy run` in the foreground with its admin endpoint off and HOME and XDG dirs in its
// temp dir; run as root it runs as the user caddy (setpriv), as Debian's caddy.service does,
// so the socket must be reachable by that group.
#pragma once

#include "support/frontend_process.hpp"

#include <string>

namespace fcgihost {
namespace testing_support {

std::string caddy_binary();  // /usr/bin/caddy; throws if missing
// "caddy" when the tests run as root (Caddy is started as that user), "" otherwise.
std::string caddy_user();

// docs/deploy/Caddyfile forwarding to `socket`, serving http://127.0.0.1:`port`, admin off.
// Throws std::runtime_error if the sample cannot be read or no longer has what this replaces.
std::string render_caddyfile(const std::string& socket, int port);

class CaddyProcess : public FrontendProcess {
public:
    // Starts Caddy (see FrontendProcess); SIGTERM, its graceful stop, stops it.
    explicit CaddyProcess(const std::string& socket);
};

}  // namespace testing_support
}  // namespace fcgihost
