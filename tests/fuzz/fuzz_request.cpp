// Fuzz target: Request::from_params() on params decoded from the input as FastCGI
// name-value pairs (as libfcgi would hand them over), the rest of the input as the body.
// Findings: a crash, a sanitizer report, an exception other than RequestError(400), or a
// broken property:
//   - the method is never empty and the path never empty;
//   - every HTTP_* param is a header under its lower-case, '-' for '_' name;
//   - query() agrees with parse_query(QUERY_STRING); params() and body() are kept as given.
#include "fcgihost/request.hpp"
#include "http/url.hpp"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using fcgihost::NameValues;
using fcgihost::Request;
using fcgihost::RequestError;

namespace {

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "fuzz_request: %s\n", what);
    abort();
}

// One FastCGI name-value length; false when the input ends first.
bool take_length(const std::string& in, std::size_t& pos, std::size_t& out) {
    if (pos >= in.size()) return false;
    const auto b0 = static_cast<unsigned char>(in[pos]);
    if ((b0 & 0x80) == 0) {
        out = b0;
        ++pos;
        return true;
    }
    if (in.size() - pos < 4) return false;
    out = ((b0 & 0x7fu) << 24) | (static_cast<unsigned char>(in[pos + 1]) << 16) |
          (static_cast<unsigned char>(in[pos + 2]) << 8) | static_cast<unsigned char>(in[pos + 3]);
    pos += 4;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    NameValues params;
    std::size_t pos = 0;
    for (;;) {
        std::size_t mark = pos;
        std::size_t name_length = 0;
        std::size_t value_length = 0;
        if (!take_length(input, pos, name_length) || !take_length(input, pos, value_length) ||
            input.size() - pos < name_length || input.size() - pos - name_length < value_length) {
            pos = mark;
            break;
        }
        params.emplace_back(input.substr(pos, name_length), input.substr(pos + name_length, value_length));
        pos += name_length + value_length;
    }
    const std::string body = input.substr(pos);

    Request request;
    try {
        request = Request::from_params(params, body);
    } catch (const RequestError& e) {
        if (e.status != 400) finding("RequestError with a status other than 400");
        return 0;
    }
    if (request.method().empty()) finding("empty method");
    if (request.path().empty()) finding("empty path");
    if (request.params() != params) finding("params not kept as given");
    if (request.body() != body) finding("body not kept as given");
    for (const auto& p : params) {
        if (p.first.size() <= 5 || p.first.compare(0, 5, "HTTP_") != 0) continue;
        std::string name = p.first.substr(5);
        for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        bool found = false;
        for (const auto& h : request.headers()) found = found || (h.first == name && h.second == p.second);
        if (!found) finding("an HTTP_ param is missing from the headers");
    }
    if (request.query() != fcgihost::parse_query(request.query_string())) finding("query differs from parse_query");
    for (const auto& q : request.query()) {
        if (!request.has_query(q.first)) finding("has_query misses a key");
    }
    return 0;
}
