// Reading a process's log text in tests: how often something was said.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace fcgihost { namespace testing_support {

// Non-overlapping occurrences of `needle` in `text` (a log holds one event per line, so
// for a message this is the number of lines that carry it).
std::size_t occurrences(const std::string& text, const std::string& needle);

// This process's log lines go to a temporary file for the object's life, then back to
// stderr. For tests in the test runner's own process (a child's log is its file).
class LogCapture {
public:
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    LogCapture();
    ~LogCapture();
    std::string text() const;  // everything logged so far

private:
    std::FILE* file_;
};

}}  // namespace fcgihost::testing_support
