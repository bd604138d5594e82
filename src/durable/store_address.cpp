#include "durable/store_address.hpp"

#include <algorithm>

namespace fcgihost {

bool is_postgres_store(const std::string& s) {
    return s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0 || s.find("host=") != std::string::npos ||
           s.find("dbname=") != std::string::npos;
}

std::string redacted_store(const std::string& s) {
    std::string out = s;
    if (s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0) {
        // postgresql://user:PASSWORD@host/...: the userinfo ends at the last '@' before the path.
        const std::size_t from = s.find("://") + 3;
        const std::size_t path = s.find_first_of("/?", from);
        const std::size_t at = s.rfind('@', path == std::string::npos ? std::string::npos : path);
        if (at != std::string::npos && at >= from) {
            const std::size_t colon = s.find(':', from);
            if (colon != std::string::npos && colon < at) out = s.substr(0, colon + 1) + "***" + s.substr(at);
        }
    }
    // password=... as a keyword or as a URI query parameter.
    for (std::size_t at = out.find("password="); at != std::string::npos; at = out.find("password=", at + 1)) {
        const std::size_t value = at + 9;
        std::size_t end = value;
        if (end < out.size() && out[end] == '\'') {
            for (++end; end < out.size() && out[end] != '\''; ++end) {
                if (out[end] == '\\') ++end;
            }
            if (end < out.size()) ++end;
        } else {
            end = out.find_first_of(" &", value);
            if (end == std::string::npos) end = out.size();
        }
        out = out.substr(0, value) + "***" + out.substr(std::min(end, out.size()));
    }
    return out;
}

}  // namespace fcgihost
