// A sanitizer report in a child process fails the test that started the child. Proven by
// a child that makes a report (the runner itself, run with kProvokeReportFlag), under the
// listener main() uses, in a result of its own so this test itself passes.
#include "support/sanitizer_reports.hpp"

#include "support/process.hpp"

#include <cppunit/TestCase.h>
#include <cppunit/TestFailure.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/extensions/HelperMacros.h>

#include <iostream>

using namespace fcgihost::testing_support;

namespace {

// A test that starts one child and asserts nothing of its own.
class StartsAChild : public CppUnit::TestCase {
public:
    StartsAChild(std::vector<std::string> argv, const SanitizerReports& reports, const TempDir& dir)
        : CppUnit::TestCase("starts_a_child"), argv_(std::move(argv)), reports_(reports), dir_(dir) {}
    void runTest() override {
        ChildProcess child(argv_, dir_.file("child.log"), reports_.child_environment());
        CPPUNIT_ASSERT(child.wait_exit(std::chrono::seconds(60)));
    }

private:
    std::vector<std::string> argv_;
    const SanitizerReports& reports_;
    const TempDir& dir_;
};

// Runs `test` under the listener main() uses; returns the failures' texts.
std::vector<std::string> failures_of(StartsAChild& test, SanitizerReports& reports) {
    CppUnit::TestResult result;
    CppUnit::TestResultCollector collector;
    SanitizerReportListener listener(reports, result);
    result.addListener(&listener);
    result.addListener(&collector);
    test.run(&result);
    std::vector<std::string> texts;
    for (const CppUnit::TestFailure* failure : collector.failures()) {
        CPPUNIT_ASSERT_EQUAL(std::string("starts_a_child"), failure->failedTestName());
        texts.push_back(failure->thrownException()->message().details());
    }
    return texts;
}

}  // namespace

class SanitizerReportsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SanitizerReportsTest);
    CPPUNIT_TEST(log_path_is_appended_to_the_options_given);
    CPPUNIT_TEST(report_file_fails_the_test_that_wrote_it);
    CPPUNIT_TEST(report_in_a_child_fails_the_test_that_started_it);
    CPPUNIT_TEST_SUITE_END();

public:
    void log_path_is_appended_to_the_options_given() {
        CPPUNIT_ASSERT_EQUAL(std::string("log_path=/d/report"), with_log_path("", "/d/report"));
        CPPUNIT_ASSERT_EQUAL(std::string("halt_on_error=1:log_path=/d/report"),
                             with_log_path("halt_on_error=1", "/d/report"));
    }

    // Any build: a child that writes where its sanitizer would (the path it was given).
    void report_file_fails_the_test_that_wrote_it() {
        TempDir dir;
        SanitizerReports reports(dir.path());
        const std::string options = reports.child_environment().at(0);
        const std::string log_path = options.substr(options.rfind("log_path=") + 9);
        StartsAChild test({"/bin/sh", "-c", "echo 'WARNING: fake report' > " + log_path + ".4242"}, reports, dir);
        std::vector<std::string> failures = failures_of(test, reports);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), failures.size());
        CPPUNIT_ASSERT(failures[0].find("report.4242:\nWARNING: fake report") != std::string::npos);
        CPPUNIT_ASSERT(reports.take_new().empty());  // taken once, by the test it belongs to
    }

    // Sanitizer builds: a real report from a real sanitizer reaches the listener.
    void report_in_a_child_fails_the_test_that_started_it() {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
        TempDir dir;
        SanitizerReports reports(dir.path());
        StartsAChild test({runner_dir() + "/fcgihost-tests", kProvokeReportFlag}, reports, dir);
        std::vector<std::string> failures = failures_of(test, reports);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), failures.size());
#if defined(__SANITIZE_THREAD__)
        const char* expected = "WARNING: ThreadSanitizer: data race";
#else
        const char* expected = "ERROR: AddressSanitizer: heap-use-after-free";
#endif
        CPPUNIT_ASSERT_MESSAGE(failures[0], failures[0].find(expected) != std::string::npos);
#else
        std::cout << " [skipped: not a sanitizer build; make check-tsan or check-asan runs it] " << std::flush;
        CPPUNIT_ASSERT(!provoke_sanitizer_report());
#endif
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(SanitizerReportsTest, "integration");
