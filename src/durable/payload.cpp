#include "fcgihost/payload.hpp"

namespace fcgihost {
namespace {

const char kHex[] = "0123456789ABCDEF";

bool needs_escape(unsigned char c) { return c < 0x20 || c == 0x7f || c == '%' || c == '='; }

void append_escaped(std::string& out, const std::string& text) {
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (needs_escape(c)) {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        } else {
            out += ch;
        }
    }
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

std::string unescape(const std::string& text, std::size_t line) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        int high = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
        int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
        if (high < 0 || low < 0) throw PayloadError("payload line " + std::to_string(line) + ": bad %XX escape");
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

}  // namespace

std::string encode_fields(const PayloadFields& fields) {
    std::string out;
    for (const auto& field : fields) {
        append_escaped(out, field.first);
        out += '=';
        append_escaped(out, field.second);
        out += '\n';
    }
    return out;
}

PayloadFields decode_fields(const std::string& payload) {
    PayloadFields fields;
    std::size_t start = 0;
    std::size_t line = 1;
    while (start < payload.size()) {
        std::size_t end = payload.find('\n', start);
        if (end == std::string::npos) end = payload.size();
        const std::string text = payload.substr(start, end - start);
        const std::size_t eq = text.find('=');
        if (eq == std::string::npos) throw PayloadError("payload line " + std::to_string(line) + ": no '='");
        std::string key = unescape(text.substr(0, eq), line);
        if (key.empty()) throw PayloadError("payload line " + std::to_string(line) + ": empty key");
        if (!fields.emplace(std::move(key), unescape(text.substr(eq + 1), line)).second) {
            throw PayloadError("payload line " + std::to_string(line) + ": repeated key");
        }
        start = end + 1;
        ++line;
    }
    return fields;
}

}  // namespace fcgihost
