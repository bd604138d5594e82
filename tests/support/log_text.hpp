// Reading a process's log text in tests: how often something was said.
#pragma once

#include <cstddef>
#include <string>

namespace fcgihost { namespace testing_support {

// Non-overlapping occurrences of `needle` in `text` (a log holds one event per line, so
// for a message this is the number of lines that carry it).
std::size_t occurrences(const std::string& text, const std::string& needle);

}}  // namespace fcgihost::testing_support
