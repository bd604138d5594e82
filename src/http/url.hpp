// Percent-decoding of paths and query strings (RFC 3986, with '+' as space in queries as
// HTML forms send it).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fcgihost {

// Thrown for input that cannot be decoded: a '%' not followed by two hex digits, or a
// decoded NUL byte (which no C string downstream could hold faithfully).
struct DecodeError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// Decodes %XX escapes; with plus_is_space, '+' becomes ' '. Throws DecodeError.
std::string percent_decode(const std::string& text, bool plus_is_space = false);

// Splits "a=1&b=x%20y&flag" into decoded pairs in order: {"a","1"},{"b","x y"},{"flag",""}.
// Empty segments ("a=1&&b=2") are skipped. Throws DecodeError.
std::vector<std::pair<std::string, std::string>> parse_query(const std::string& query);

}  // namespace fcgihost
