#include "fcgihost/router.hpp"

#include <algorithm>

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

const Router::Route* Router::find(const std::string& method, const std::string& path) const {
    const Route* best = nullptr;
    for (const Route& route : routes_) {
        if (route.method != method || !matches(route, path)) continue;
        if (best == nullptr || (best->prefix && (!route.prefix || route.pattern.size() > best->pattern.size()))) {
            best = &route;
        }
    }
    return best;
}

Response Router::route(const Request& request) const {
    const Route* best = find(request.method(), request.path());
    if (best == nullptr && request.method() == "HEAD") best = find("GET", request.path());
    if (best != nullptr) return best->handler(request);

    std::vector<std::string> allowed;
    for (const Route& route : routes_) {
        if (matches(route, request.path()) &&
            std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
            allowed.push_back(route.method);
        }
    }
    if (allowed.empty()) return Response::text(404, "not found\n");
    std::string allow;
    for (const std::string& method : allowed) allow += (allow.empty() ? "" : ", ") + method;
    Response response = Response::text(405, "method not allowed\n");
    response.set_header("Allow", allow);
    return response;
}

}  // namespace fcgihost
