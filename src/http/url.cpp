#include "http/url.hpp"

namespace fcgihost {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string percent_decode(const std::string& text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
            int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                throw DecodeError("invalid percent-encoding at offset " + std::to_string(i));
            }
            char decoded = static_cast<char>(hi * 16 + lo);
            if (decoded == '\0') throw DecodeError("percent-encoded NUL at offset " + std::to_string(i));
            out += decoded;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(const std::string& query) {
    std::vector<std::pair<std::string, std::string>> pairs;
    std::size_t start = 0;
    while (start <= query.size()) {
        std::size_t end = query.find('&', start);
        if (end == std::string::npos) end = query.size();
        if (end > start) {
            std::string segment = query.substr(start, end - start);
            std::size_t eq = segment.find('=');
            if (eq == std::string::npos) {
                pairs.emplace_back(percent_decode(segment, true), std::string());
            } else {
                pairs.emplace_back(percent_decode(segment.substr(0, eq), true),
                                   percent_decode(segment.substr(eq + 1), true));
            }
        }
        start = end + 1;
    }
    return pairs;
}

}  // namespace fcgihost
