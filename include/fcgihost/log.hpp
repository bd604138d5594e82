// Logging: one line per event on stderr, never interleaved between threads.
//
// Every line is "<UTC time> <LEVEL> [<pid>] <message>\n", written with a single write(2)
// while holding a process-wide mutex, so lines from different threads never mix and a
// line up to PIPE_BUF bytes stays whole even when several processes share the pipe
// (nginx, mod_fcgid and systemd all capture stderr that way). Control bytes inside a
// message (below 0x20, tab, CR and LF included, and 0x7f) are written as \xNN: a message
// is always exactly one line and cannot send escape sequences to a terminal. Bytes from
// 0x80 up are written as they are (UTF-8 stays readable).
#pragma once

#include <sstream>
#include <string>

namespace fcgihost {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// Lines below this level are not written. Default: info. Safe to call at any time.
void log_set_level(LogLevel level);
LogLevel log_level();

// Where lines go; default is fd 2. Tests point it at a pipe or file. The fd is not owned.
void log_set_fd(int fd);

// Writes one line. Never throws; a failed write is ignored (there is nowhere left to report it).
void log_line(LogLevel level, const std::string& message) noexcept;

// Builds the message from any streamable parts: log_info("queued ", name, " (", n, " waiting)").
template <class... Parts>
std::string log_concat(const Parts&... parts) {
    std::ostringstream out;
    (out << ... << parts);
    return out.str();
}

// The level is checked before the message is built: a filtered line costs a load.
template <class... Parts> void log_at(LogLevel level, const Parts&... p) {
    if (log_level() <= level) log_line(level, log_concat(p...));
}
template <class... Parts> void log_debug(const Parts&... p) { log_at(LogLevel::debug, p...); }
template <class... Parts> void log_info(const Parts&... p) { log_at(LogLevel::info, p...); }
template <class... Parts> void log_warn(const Parts&... p) { log_at(LogLevel::warn, p...); }
template <class... Parts> void log_error(const Parts&... p) { log_at(LogLevel::error, p...); }

}  // namespace fcgihost
