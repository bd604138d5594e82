#include "fcgihost/request.hpp"

#include "fcgihost/url.hpp"

#include <strings.h>

namespace fcgihost {
namespace {

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
    r.method_ = find_value(params, "REQUEST_METHOD", false);
    if (r.method_.empty()) r.method_ = "GET";
    r.query_string_ = find_value(params, "QUERY_STRING", false);
    r.remote_addr_ = find_value(params, "REMOTE_ADDR", false);

    std::string raw_path = find_value(params, "REQUEST_URI", false);
    if (raw_path.empty()) {
        raw_path = find_value(params, "SCRIPT_NAME", false) + find_value(params, "PATH_INFO", false);
    } else {
        raw_path = raw_path.substr(0, raw_path.find('?'));
    }
    if (raw_path.empty()) raw_path = "/";
    try {
        r.path_ = percent_decode(raw_path);
        r.query_ = parse_query(r.query_string_);
    } catch (const DecodeError& e) {
        throw RequestError(400, std::string("bad request URI: ") + e.what());
    }

    for (const auto& nv : params) {
        if (nv.first.size() > 5 && nv.first.compare(0, 5, "HTTP_") == 0) {
            r.headers_.emplace_back(header_name_from_param(nv.first), nv.second);
        } else if (nv.first == "CONTENT_TYPE" && !nv.second.empty()) {
            r.headers_.emplace_back("content-type", nv.second);
        } else if (nv.first == "CONTENT_LENGTH" && !nv.second.empty()) {
            r.headers_.emplace_back("content-length", nv.second);
        }
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
