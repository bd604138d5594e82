#include "fcgihost/log.hpp"

#include <boost/thread/lock_guard.hpp>
#include <boost/thread/mutex.hpp>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <sys/time.h>
#include <unistd.h>

namespace fcgihost {
namespace {

std::atomic<int> log_min_level{static_cast<int>(LogLevel::info)};
std::atomic<int> log_fd{2};
boost::mutex log_mutex;  // serialises whole lines across threads

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "DEBUG";
        case LogLevel::info: return "INFO";
        case LogLevel::warn: return "WARN";
        case LogLevel::error: return "ERROR";
    }
    return "INFO";
}

// Control bytes come from clients too (a path, a job name): raw, CR and LF would forge a
// line and ESC would drive the terminal of whoever reads the log. Bytes >= 0x80 are kept,
// so UTF-8 text reads as text.
void append_escaped(std::string& line, const std::string& message) {
    static const char hex[] = "0123456789abcdef";
    for (char c : message) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte != 0x7f) {
            line += c;
        } else {
            line += "\\x";
            line += hex[byte >> 4];
            line += hex[byte & 0xf];
        }
    }
}

}  // namespace

void log_set_level(LogLevel level) { log_min_level = static_cast<int>(level); }
LogLevel log_level() { return static_cast<LogLevel>(log_min_level.load()); }
void log_set_fd(int fd) { log_fd = fd; }

void log_line(LogLevel level, const std::string& message) noexcept {
    if (static_cast<int>(level) < log_min_level.load()) return;
    try {
        struct timeval now;
        gettimeofday(&now, nullptr);
        struct tm utc;
        gmtime_r(&now.tv_sec, &utc);
        char stamp[40];
        std::size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
        snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(now.tv_usec / 1000));

        std::string line;
        line.reserve(message.size() + 64);
        line += stamp;
        line += ' ';
        line += level_name(level);
        line += " [";
        line += std::to_string(getpid());
        line += "] ";
        append_escaped(line, message);
        line += '\n';

        boost::lock_guard<boost::mutex> lock(log_mutex);
        const char* p = line.data();
        std::size_t left = line.size();
        while (left > 0) {
            ssize_t w = ::write(log_fd.load(), p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            p += w;
            left -= static_cast<std::size_t>(w);
        }
    } catch (...) {
        // Out of memory while logging: drop the line rather than take the process down.
    }
}

}  // namespace fcgihost
