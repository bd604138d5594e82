// Listen policy: who may reach a TCP listener, decided before it is opened.
//
// A FastCGI peer is trusted completely: it sets every param a handler reads (REMOTE_ADDR,
// HTTPS, SCRIPT_NAME, the headers) and bypasses every rule of the web server in front. A
// listener on a non-loopback address with no FCGI_WEB_SERVER_ADDRS list takes FastCGI from
// any host that can reach the port, so it is refused unless the operator says, with
// --allow-any-peer, that this is wanted. Loopback (127.0.0.0/8, ::1) and unix sockets are
// reachable from this host only and always pass.
//
// Only --listen is checked: an inherited socket (fd 0, LISTEN_FDS) was bound by whoever
// handed it over, and FCGI_WEB_SERVER_ADDRS still applies to it at accept time.
#pragma once

#include "fastcgi/listener.hpp"

#include <string>

namespace fcgihost {

// True if every address `host` stands for is loopback. `host` is numeric (IPv4, IPv6 with or
// without brackets) or a name, resolved here; false for the wildcard ("0.0.0.0", "::") and for
// a name that does not resolve.
bool is_loopback_host(const std::string& host);

// "" if `options` may open their listener; otherwise one line that names the listener and
// both fixes. A host that does not resolve passes: opening the listener fails with the reason.
// `web_server_addrs` is FCGI_WEB_SERVER_ADDRS, nullptr when unset; a list with
// no address in it (empty, or only commas and blanks) counts as unset, as it allows every peer.
std::string listen_policy_refusal(const ListenerOptions& options, const char* web_server_addrs);

// "" unless the directory of the unix socket `socket_path` is writable by every user (such as
// /tmp); then one warning line. While this process is not running, anyone on the host can
// put a socket of their own at that path, and the web server sends its requests (cookies,
// credentials) there. A warning, not a refusal: the sticky bit still keeps them from removing
// ours while we run.
std::string socket_directory_warning(const std::string& socket_path);

}  // namespace fcgihost
