#include "support/log_text.hpp"

namespace fcgihost { namespace testing_support {

std::size_t occurrences(const std::string& text, const std::string& needle) {
    if (needle.empty()) return 0;
    std::size_t n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
    return n;
}

}}  // namespace fcgihost::testing_support
