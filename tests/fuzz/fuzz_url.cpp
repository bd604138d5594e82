// Fuzz target: percent_decode() and parse_query() on any bytes. Findings: a crash, a
// sanitizer report, an exception other than DecodeError, or a broken property:
//   - decoding never lengthens the text; text without '%' decodes to itself ('+' to ' ');
//   - what decodes re-encodes and decodes back to the same bytes;
//   - parse_query yields at most one pair per '&'-separated segment, each key decoded
//     exactly as percent_decode(key, true) would.
#include "http/url.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using fcgihost::DecodeError;

namespace {

[[noreturn]] void finding(const char* what, const std::string& input) {
    std::fprintf(stderr, "fuzz_url: %s (input of %zu bytes)\n", what, input.size());
    abort();
}

std::string encode_all(const std::string& raw) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : raw) {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

void check_decode(const std::string& text, bool plus_is_space) {
    std::string decoded;
    try {
        decoded = fcgihost::percent_decode(text, plus_is_space);
    } catch (const DecodeError&) {
        return;
    }
    if (decoded.size() > text.size()) finding("decoding lengthened the text", text);
    if (text.find('%') == std::string::npos) {
        std::string expected = text;
        if (plus_is_space) {
            for (char& c : expected) c = c == '+' ? ' ' : c;
        }
        if (decoded != expected) finding("text without '%' changed", text);
    }
    // A raw NUL passes through, but "%00" is refused by design: no round trip for those.
    if (decoded.find('\0') != std::string::npos) return;
    if (fcgihost::percent_decode(encode_all(decoded), plus_is_space) != decoded) finding("round trip differs", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    check_decode(text, false);
    check_decode(text, true);
    try {
        auto pairs = fcgihost::parse_query(text);
        std::size_t segments = 1;
        for (char c : text) segments += c == '&' ? 1 : 0;
        if (pairs.size() > segments) finding("more pairs than segments", text);
        std::size_t start = 0;
        std::size_t index = 0;
        while (start <= text.size()) {
            std::size_t end = text.find('&', start);
            if (end == std::string::npos) end = text.size();
            if (end > start) {
                std::string segment = text.substr(start, end - start);
                if (fcgihost::percent_decode(segment.substr(0, segment.find('=')), true) != pairs.at(index).first) {
                    finding("a key decoded differently", text);
                }
                ++index;
            }
            start = end + 1;
        }
        if (index != pairs.size()) finding("pair count differs from the non-empty segments", text);
    } catch (const DecodeError&) {
    }
    return 0;
}
