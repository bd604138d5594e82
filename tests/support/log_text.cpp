#include "support/log_text.hpp"

#include "fcgihost/log.hpp"

#include <stdexcept>

namespace fcgihost { namespace testing_support {

std::size_t occurrences(const std::string& text, const std::string& needle) {
    if (needle.empty()) return 0;
    std::size_t n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
    return n;
}

LogCapture::LogCapture() : file_(std::tmpfile()) {
    if (file_ == nullptr) throw std::runtime_error("LogCapture: no temporary file");
    log_set_fd(fileno(file_));
}

LogCapture::~LogCapture() {
    log_set_fd(2);
    std::fclose(file_);
}

std::string LogCapture::text() const {
    std::string out;
    std::rewind(file_);
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, file_)) > 0) out.append(buffer, n);
    return out;
}

}}  // namespace fcgihost::testing_support
