// Runs every registered CppUnit suite (or those whose names contain the arguments) and
// ends with the line CI reads: "tests: N passed, M failed". Suites register as "unit" or
// "integration" (CPPUNIT_TEST_SUITE_NAMED_REGISTRATION) and a filter is matched against
// "unit/Suite::test", so `fcgihost-tests unit/` runs the unit tests alone. A sanitizer
// report from any child process fails the test that was running (support/sanitizer_reports.hpp).
#include "support/process.hpp"
#include "support/sanitizer_reports.hpp"

#include <cppunit/CompilerOutputter.h>
#include <cppunit/Test.h>
#include <cppunit/TestFailure.h>
#include <cppunit/TestListener.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <signal.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace {

// Prints each test as it ends, so a hang shows which test it is in.
class ProgressListener : public CppUnit::TestListener {
public:
    void startTest(CppUnit::Test*) override {
        failed_ = false;
        started_ = std::chrono::steady_clock::now();
    }
    void addFailure(const CppUnit::TestFailure&) override { failed_ = true; }
    void endTest(CppUnit::Test* test) override {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
        std::cout << (failed_ ? "FAIL " : "ok   ") << test->getName() << " (" << ms.count() << " ms)" << std::endl;
        if (failed_) ++failed_count_;
        else ++passed_count_;
    }
    int passed() const { return passed_count_; }
    int failed() const { return failed_count_; }

private:
    bool failed_ = false;
    int passed_count_ = 0;
    int failed_count_ = 0;
    std::chrono::steady_clock::time_point started_;
};

const char* const kRegistries[] = {"unit", "integration"};

void collect(CppUnit::Test* test, const std::string& registry, const std::vector<std::string>& filters,
             std::vector<CppUnit::Test*>& out) {
    if (test->getChildTestCount() == 0) {
        const std::string path = registry + "/" + test->getName();
        bool wanted = filters.empty();
        for (const std::string& f : filters) wanted = wanted || path.find(f) != std::string::npos;
        if (wanted) out.push_back(test);
        return;
    }
    for (int i = 0; i < test->getChildTestCount(); ++i) collect(test->getChildTestAt(i), registry, filters, out);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace fcgihost::testing_support;
    // The child that proves sanitizer reports are seen: see sanitizer_reports_test.cpp.
    if (argc == 2 && std::string(argv[1]) == kProvokeReportFlag) return provoke_sanitizer_report() ? 0 : 1;
    // A child that dies must not take the runner with it.
    signal(SIGPIPE, SIG_IGN);
    TempDir report_dir;
    SanitizerReports reports(report_dir.path());
    reports.route_children_here();
    std::vector<std::string> filters(argv + 1, argv + argc);
    std::vector<std::unique_ptr<CppUnit::Test>> registries;
    std::vector<CppUnit::Test*> selected;
    for (const char* name : kRegistries) {
        registries.emplace_back(CppUnit::TestFactoryRegistry::getRegistry(name).makeTest());
        collect(registries.back().get(), name, filters, selected);
    }
    // A suite registered with plain CPPUNIT_TEST_SUITE_REGISTRATION would run in neither set.
    std::unique_ptr<CppUnit::Test> unsorted(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
    for (int i = 0; i < unsorted->getChildTestCount(); ++i) {
        std::cout << "FAIL " << unsorted->getChildTestAt(i)->getName()
                  << " is registered as neither \"unit\" nor \"integration\"" << std::endl;
    }

    CppUnit::TestResult controller;
    CppUnit::TestResultCollector collector;
    ProgressListener progress;
    // Before the progress listener: the failure it adds must be there when a test is printed.
    SanitizerReportListener sanitizer_reports(reports, controller);
    controller.addListener(&sanitizer_reports);
    controller.addListener(&collector);
    controller.addListener(&progress);
    for (CppUnit::Test* test : selected) test->run(&controller);
    // A process that outlived its test (none should) may still have written one.
    std::vector<std::string> late = reports.take_new();
    for (const std::string& report : late) std::cout << "sanitizer report after the last test:\n" << report << std::endl;

    if (progress.failed() > 0) CppUnit::CompilerOutputter(&collector, std::cout).printFailureReport();
    const int failed = progress.failed() + unsorted->getChildTestCount() + static_cast<int>(late.size());
    std::cout << "tests: " << progress.passed() << " passed, " << failed << " failed" << std::endl;
    return (failed == 0 && progress.passed() > 0) ? 0 : 1;
}
