// Sanitizer reports from child processes, turned into test failures.
//
// A child process (the demo, a helper) built with TSan or ASan/UBSan prints its report on
// its own stderr, which the tests write to a log file nobody reads if the test passes; and
// with halt_on_error a test that only looks at the log may still pass. So the runner points
// every child's sanitizer at a directory (log_path in TSAN_OPTIONS, ASAN_OPTIONS and
// UBSAN_OPTIONS, appended to what the caller set), and after each test a listener turns
// every new report file there into a failure of that test, with the report as its text.
// The runner itself keeps reporting on stderr: a sanitizer reads its options once, at start.
// Known gap: with g++ 12, UBSan's runtime errors in an ASan+UBSan build go to stderr
// whatever log_path says, so only TSan and ASan reports are caught here.
#pragma once

#include <cppunit/TestListener.h>

#include <string>
#include <vector>

namespace CppUnit {
class TestResult;
}

namespace fcgihost { namespace testing_support {

// `options` (a sanitizer's options, possibly empty) with log_path set to `log_path`.
std::string with_log_path(const std::string& options, const std::string& log_path);

class SanitizerReports {
public:
    SanitizerReports(const SanitizerReports&) = delete;
    SanitizerReports& operator=(const SanitizerReports&) = delete;
    explicit SanitizerReports(std::string dir);  // an existing directory

    // "NAME=value" overrides for a child's environment that send its reports here.
    std::vector<std::string> child_environment() const;
    // Sets the same variables in this process, so every child started later inherits them.
    void route_children_here() const;
    // The text of each report file that appeared since the last call; the files are removed.
    std::vector<std::string> take_new();

private:
    std::string dir_;
};

// Adds a failure to the test that just ended for each new report (see above).
class SanitizerReportListener : public CppUnit::TestListener {
public:
    SanitizerReportListener(SanitizerReports& reports, CppUnit::TestResult& result)
        : reports_(reports), result_(result) {}
    void endTest(CppUnit::Test* test) override;

private:
    SanitizerReports& reports_;
    CppUnit::TestResult& result_;
};

// Makes a sanitizer report in this process: a data race under TSan, a use after free under
// ASan. Returns false, doing nothing, in a build without either.
bool provoke_sanitizer_report();
constexpr const char* kProvokeReportFlag = "--provoke-sanitizer-report";

}}  // namespace fcgihost::testing_support
