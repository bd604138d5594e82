// HaproxyProcess: a real HAProxy (Debian's haproxy package) serving docs/deploy/haproxy.cfg,
// the config users copy, on 127.0.0.1 on a free port, forwarding to an fcgihost socket with
// its fcgi-app in one of four variants. Foreground (-db), pid file in its temp dir, no root
// needed; run as root it drops to the user haproxy as the sample says, so the socket must be
// reachable by that group.
#pragma once

#include "support/frontend_process.hpp"

#include <string>

namespace fcgihost {
namespace testing_support {

enum class HaproxyFcgiApp {
    defaults,    // no fcgi-app option at all: HAProxy's own defaults
    keep_conn,   // the sample as it is (option keep-conn)
    mpxs_conns,  // plus option mpxs-conns, which the sample says never to set
    get_values,  // plus option get-values: HAProxy asks FCGI_GET_VALUES on every new connection
};

std::string haproxy_binary();  // /usr/sbin/haproxy; throws if missing
// "haproxy" when the tests run as root (HAProxy drops to it), "" otherwise.
std::string haproxy_user();

// docs/deploy/haproxy.cfg forwarding to `socket`, bound to 127.0.0.1:`port`, logging to
// stderr, with `variant`'s fcgi-app options. Throws std::runtime_error if the sample cannot
// be read or no longer has what this replaces.
std::string render_haproxy_config(const std::string& socket, int port, HaproxyFcgiApp variant);

class HaproxyProcess : public FrontendProcess {
public:
    // Starts HAProxy (see FrontendProcess); SIGTERM stops it.
    HaproxyProcess(const std::string& socket, HaproxyFcgiApp variant);
};

}  // namespace testing_support
}  // namespace fcgihost
