// Fuzz target: Router::route() with a fixed set of exact and prefix routes, for any method
// and any path. The input is "METHOD path" (the method is what comes before the first
// space, or picked from the usual ones by the first byte if there is no space). Findings: a
// crash, a sanitizer report, or an answer that disagrees with this model of the contract:
//   200 from the route whose pattern matches the path (exact, else the longest prefix) for
//       the method, or for GET when the method is HEAD and has no route of its own;
//   404 when no pattern matches the path at all; 405 with an Allow header otherwise.
#include "fcgihost/router.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace fcgihost;

namespace {

struct ModelRoute {
    std::string method;
    std::string pattern;  // ends in "/*" for a prefix route
};

const std::vector<ModelRoute> kRoutes = {
    {"GET", "/"},          {"GET", "/work"},          {"POST", "/echo"},       {"GET", "/static/*"},
    {"GET", "/static/img/*"}, {"HEAD", "/head"},      {"PUT", "/static/*"},    {"DELETE", "/work"},
    {"GET", "/a/*"},       {"GET", "/a/b"},           {"POST", "/a/*"},
};

bool model_matches(const ModelRoute& r, const std::string& path) {
    const bool prefix = r.pattern.size() >= 2 && r.pattern.compare(r.pattern.size() - 2, 2, "/*") == 0;
    if (!prefix) return path == r.pattern;
    const std::string stem = r.pattern.substr(0, r.pattern.size() - 1);
    return path.compare(0, stem.size(), stem) == 0;
}

// The route the contract picks for method and path, or null.
const ModelRoute* model_find(const std::string& method, const std::string& path) {
    const ModelRoute* best = nullptr;
    for (const ModelRoute& r : kRoutes) {
        if (r.method != method || !model_matches(r, path)) continue;
        const bool prefix = r.pattern.back() == '*';
        const bool best_prefix = best != nullptr && best->pattern.back() == '*';
        if (best == nullptr || (best_prefix && (!prefix || r.pattern.size() > best->pattern.size()))) best = &r;
    }
    return best;
}

[[noreturn]] void finding(const char* what, const std::string& method, const std::string& path) {
    std::fprintf(stderr, "fuzz_router: %s for %s '%s'\n", what, method.c_str(), path.c_str());
    abort();
}

const Router& router() {
    static const Router* r = [] {
        auto* built = new Router();
        for (const ModelRoute& route : kRoutes) {
            const std::string name = route.method + " " + route.pattern;
            built->add(route.method, route.pattern, [name](const Request&) { return Response::text(200, name); });
        }
        return built;
    }();
    return *r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const char* kMethods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "get", ""};
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::string method;
    std::string path;
    const std::size_t space = input.find(' ');
    if (space != std::string::npos) {
        method = input.substr(0, space);
        path = input.substr(space + 1);
    } else if (!input.empty()) {
        method = kMethods[static_cast<unsigned char>(input[0]) % 8];
        path = input.substr(1);
    }
    Request request;
    try {
        request = Request::from_params({{"REQUEST_METHOD", method}, {"REQUEST_URI", path}}, "");
    } catch (const RequestError&) {
        return 0;  // bad percent-encoding: a 400 before any routing
    }
    const Response response = router().route(request);
    const std::string& m = request.method();
    const std::string& p = request.path();
    const ModelRoute* expected = model_find(m, p);
    if (expected == nullptr && m == "HEAD") expected = model_find("GET", p);
    if (expected != nullptr) {
        if (response.status() != 200 || response.body() != expected->method + " " + expected->pattern) {
            finding("not the route the contract picks", m, p);
        }
        return 0;
    }
    bool any = false;
    for (const ModelRoute& r : kRoutes) any = any || model_matches(r, p);
    if (!any && response.status() != 404) finding("expected 404", m, p);
    if (any && (response.status() != 405 || response.header("Allow").empty())) finding("expected 405 with Allow", m, p);
    return 0;
}
