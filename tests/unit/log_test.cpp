// Log lines: one per event, whole, never interleaved, control bytes escaped, levels filtered.
#include "fcgihost/log.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <unistd.h>

#include <sstream>
#include <thread>
#include <vector>

using namespace fcgihost;

namespace {

// Captures the log into a pipe for the length of a test.
class CapturedLog {
public:
    CapturedLog() {
        CPPUNIT_ASSERT_EQUAL(0, pipe(fds_));
        log_set_fd(fds_[1]);
    }
    ~CapturedLog() {
        log_set_fd(2);
        log_set_level(LogLevel::info);
        close(fds_[1]);
        close(fds_[0]);
    }
    // Everything written so far (the writer end stays open; reads what is buffered).
    std::string take() {
        log_set_fd(2);
        close(fds_[1]);
        fds_[1] = -1;
        std::string text;
        char buf[4096];
        ssize_t n;
        while ((n = read(fds_[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
        return text;
    }

private:
    int fds_[2];
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

}  // namespace

class LogTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LogTest);
    CPPUNIT_TEST(line_has_time_level_pid_and_message);
    CPPUNIT_TEST(newlines_in_a_message_stay_on_one_line);
    CPPUNIT_TEST(control_bytes_are_escaped_and_utf8_is_kept);
    CPPUNIT_TEST(levels_below_the_threshold_are_dropped);
    CPPUNIT_TEST(lines_from_many_threads_never_mix);
    CPPUNIT_TEST_SUITE_END();

public:
    void line_has_time_level_pid_and_message() {
        CapturedLog log;
        log_warn("queue ", 3, " full");
        std::vector<std::string> lines = lines_of(log.take());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), lines.size());
        const std::string& line = lines[0];
        // 2026-01-02T03:04:05.678Z WARN [123] queue 3 full
        CPPUNIT_ASSERT_EQUAL(std::size_t(24), line.find(' '));
        CPPUNIT_ASSERT_EQUAL('T', line[10]);
        CPPUNIT_ASSERT_EQUAL('Z', line[23]);
        std::string rest = line.substr(25);
        CPPUNIT_ASSERT_EQUAL(std::string("WARN [" + std::to_string(getpid()) + "] queue 3 full"), rest);
    }

    void newlines_in_a_message_stay_on_one_line() {
        CapturedLog log;
        log_error("bad\r\ninput\nhere");
        std::vector<std::string> lines = lines_of(log.take());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), lines.size());
        CPPUNIT_ASSERT(lines[0].find("bad\\x0d\\x0ainput\\x0ahere") != std::string::npos);
    }

    void control_bytes_are_escaped_and_utf8_is_kept() {
        CapturedLog log;
        // A path a client might send: an ANSI sequence that clears the screen, a bell, a
        // tab, a NUL, DEL, then "café" and "日本" in UTF-8.
        const char raw[] = "/\x1b[2J\x1b[31mred\x07\tx\0y\x7f caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac";
        const std::string path(raw, sizeof raw - 1);
        log_warn("bad path ", path);
        const std::string text = log.take();
        std::vector<std::string> lines = lines_of(text);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), lines.size());
        const std::string want = "bad path /\\x1b[2J\\x1b[31mred\\x07\\x09x\\x00y\\x7f caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac";
        CPPUNIT_ASSERT_EQUAL(want, lines[0].substr(lines[0].size() - want.size()));
        for (char c : lines[0]) {
            const auto byte = static_cast<unsigned char>(c);
            CPPUNIT_ASSERT_MESSAGE(lines[0], byte >= 0x20 && byte != 0x7f);
        }
    }

    void levels_below_the_threshold_are_dropped() {
        CapturedLog log;
        log_set_level(LogLevel::warn);
        log_debug("d");
        log_info("i");
        log_warn("w");
        log_error("e");
        std::vector<std::string> lines = lines_of(log.take());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), lines.size());
        CPPUNIT_ASSERT(lines[0].find(" WARN ") != std::string::npos);
        CPPUNIT_ASSERT(lines[1].find(" ERROR ") != std::string::npos);
    }

    void lines_from_many_threads_never_mix() {
        CapturedLog log;
        constexpr int kThreads = 4;
        constexpr int kLines = 200;  // 4 x 200 short lines fit in a pipe buffer
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([t] {
                for (int i = 0; i < kLines; ++i) log_info("thread-", t, "-line-", i, "-end");
            });
        }
        for (std::thread& t : threads) t.join();
        std::vector<std::string> lines = lines_of(log.take());
        CPPUNIT_ASSERT_EQUAL(std::size_t(kThreads * kLines), lines.size());
        for (const std::string& line : lines) {
            std::size_t at = line.find("] thread-");
            CPPUNIT_ASSERT_MESSAGE(line, at != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(line, line.compare(line.size() - 4, 4, "-end") == 0);
        }
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(LogTest, "unit");
