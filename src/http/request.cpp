#include "fcgihost/request.hpp"

#include "http/url.hpp"

#include <strings.h>

#include <string_view>

namespace fcgihost {
namespace {

using namespace std::string_view_literals;

std::string find_value(const NameValues& values, const std::string& name, bool ignore_case) {
    for (const auto& nv : values) {
        bool same = ignore_case ? strcasecmp(nv.first.c_str(), name.c_str()) == 0 : nv.first == name;
        if (same) return nv.second;
    }
    return std::string();
}

std::string header_name_from_param(const std::string& param) {
    std::string name = param.substr(5);  // after "HTTP_"
    for (char& c : name) {
        c = (c == '_') ? '-' : static_cast<char>(tolower(static_cast<unsigned char>(c)));
    }
    return name;
}

}  // namespace

Request Request::from_params(NameValues params, std::string body) {
    Request r;
    // One pass: a web server sends twenty or thirty params, and this runs per request.
    // A param sent twice keeps its first value, as param() finds it.
    const std::string* method = nullptr;
    const std::string* request_uri = nullptr;
    const std::string* query_string = nullptr;
    const std::string* remote_addr = nullptr;
    const std::string* script_name = nullptr;
    const std::string* path_info = nullptr;
    r.headers_.reserve(16);
    for (const auto& nv : params) {
        // string_view compares lengths first: most names differ in length from most of these.
        const std::string_view name = nv.first;
        if (name.size() > 5 && name.compare(0, 5, "HTTP_") == 0) {
            r.headers_.emplace_back(header_name_from_param(nv.first), nv.second);
        } else if (name == "REQUEST_METHOD"sv) {
            if (!method) method = &nv.second;
        } else if (name == "REQUEST_URI"sv) {
            if (!request_uri) request_uri = &nv.second;
        } else if (name == "QUERY_STRING"sv) {
            if (!query_string) query_string = &nv.second;
        } else if (name == "REMOTE_ADDR"sv) {
            if (!remote_addr) remote_addr = &nv.second;
        } else if (name == "SCRIPT_NAME"sv) {
            if (!script_name) script_name = &nv.second;
        } else if (name == "PATH_INFO"sv) {
            if (!path_info) path_info = &nv.second;
        } else if (name == "CONTENT_TYPE"sv && !nv.second.empty()) {
            r.headers_.emplace_back("content-type", nv.second);
        } else if (name == "CONTENT_LENGTH"sv && !nv.second.empty()) {
            r.headers_.emplace_back("content-length", nv.second);
        }
    }
    r.method_ = method && !method->empty() ? *method : "GET";
    if (query_string) r.query_string_ = *query_string;
    if (remote_addr) r.remote_addr_ = *remote_addr;
    std::string raw_path;
    if (request_uri != nullptr && !request_uri->empty()) {
        raw_path = request_uri->substr(0, request_uri->find('?'));
    } else {
        raw_path = (script_name ? *script_name : std::string()) + (path_info ? *path_info : std::string());
    }
    if (raw_path.empty()) raw_path = "/";
    try {
        r.path_ = percent_decode(raw_path);
        r.query_ = parse_query(r.query_string_);
    } catch (const DecodeError& e) {
        throw RequestError(400, std::string("bad request URI: ") + e.what());
    }
    r.params_ = std::move(params);
    r.body_ = std::move(body);
    return r;
}

std::string Request::query(const std::string& name, const std::string& fallback) const {
    for (const auto& nv : query_) {
        if (nv.first == name) return nv.second;
    }
    return fallback;
}

bool Request::has_query(const std::string& name) const {
    for (const auto& nv : query_) {
        if (nv.first == name) return true;
    }
    return false;
}

std::string Request::header(const std::string& name) const { return find_value(headers_, name, true); }
std::string Request::param(const std::string& name) const { return find_value(params_, name, false); }

}  // namespace fcgihost
