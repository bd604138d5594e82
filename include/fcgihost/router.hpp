// Router: maps method and path to a handler. No I/O: route() is a pure function of the
// request (plus whatever the handlers capture), so handlers are tested without sockets.
#pragma once

#include "fcgihost/request.hpp"
#include "fcgihost/response.hpp"

#include <functional>
#include <string>
#include <vector>

namespace fcgihost {

using Handler = std::function<Response(const Request&)>;

class Router {
public:
    // `pattern` is an exact path ("/work") or a prefix ending in "/*" ("/static/*").
    // Exact routes win over prefixes, longer prefixes over shorter. HEAD is served by
    // GET routes that have no HEAD route of their own. Adding the same method and pattern twice replaces the handler.
    Router& add(const std::string& method, const std::string& pattern, Handler handler);
    Router& get(const std::string& pattern, Handler handler) { return add("GET", pattern, std::move(handler)); }
    Router& post(const std::string& pattern, Handler handler) { return add("POST", pattern, std::move(handler)); }

    // The handler's response; 404 when no pattern matches the path, 405 with an Allow
    // header when the path matches but the method does not. Exceptions from the handler
    // propagate (the server turns them into a 500).
    Response route(const Request& request) const;

private:
    struct Route {
        std::string method;
        std::string pattern;
        bool prefix;
        Handler handler;
    };
    bool matches(const Route& route, const std::string& path) const;
    const Route* find(const std::string& method, const std::string& path) const;

    std::vector<Route> routes_;
};

}  // namespace fcgihost
