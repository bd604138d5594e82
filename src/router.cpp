#include "fcgihost/router.hpp"

namespace fcgihost {

Router& Router::add(const std::string& method, const std::string& pattern, Handler handler) {
    bool prefix = pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, "/*") == 0;
    std::string stem = prefix ? pattern.substr(0, pattern.size() - 1) : pattern;  // keeps the '/'
    for (Route& route : routes_) {
        if (route.method == method && route.pattern == stem && route.prefix == prefix) {
            route.handler = std::move(handler);
            return *this;
        }
    }
    routes_.push_back(Route{method, stem, prefix, std::move(handler)});
    return *this;
}

bool Router::matches(const Route& route, const std::string& path) const {
    if (!route.prefix) return path == route.pattern;
    return path.compare(0, route.pattern.size(), route.pattern) == 0;
}

Response Router::route(const Request& request) const {
    const std::string& method = request.method() == "HEAD" ? std::string("GET") : request.method();
    const Route* best = nullptr;
    std::string allowed;
    for (const Route& route : routes_) {
        if (!matches(route, request.path())) continue;
        if (route.method != method) {
            if (allowed.find(route.method) == std::string::npos) {
                allowed += (allowed.empty() ? "" : ", ") + route.method;
            }
            continue;
        }
        if (best == nullptr || (best->prefix && (!route.prefix || route.pattern.size() > best->pattern.size()))) {
            best = &route;
        }
    }
    if (best != nullptr) return best->handler(request);
    if (!allowed.empty()) {
        Response response = Response::text(405, "method not allowed\n");
        response.set_header("Allow", allowed);
        return response;
    }
    return Response::text(404, "not found\n");
}

}  // namespace fcgihost
