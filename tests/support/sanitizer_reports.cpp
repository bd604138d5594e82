#include "support/sanitizer_reports.hpp"

#include "support/process.hpp"

#include <cppunit/Exception.h>
#include <cppunit/Message.h>
#include <cppunit/TestResult.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace fcgihost { namespace testing_support {
namespace {

const char* const kOptionVariables[] = {"TSAN_OPTIONS", "ASAN_OPTIONS", "UBSAN_OPTIONS"};

}  // namespace

std::string with_log_path(const std::string& options, const std::string& log_path) {
    // A later flag wins over an earlier one, so a log_path the caller set is overridden.
    return (options.empty() ? "" : options + ":") + "log_path=" + log_path;
}

SanitizerReports::SanitizerReports(std::string dir) : dir_(std::move(dir)) {}

std::vector<std::string> SanitizerReports::child_environment() const {
    std::vector<std::string> env;
    for (const char* name : kOptionVariables) {
        const char* current = std::getenv(name);
        // The sanitizer adds ".<pid>" to the path.
        env.push_back(std::string(name) + "=" + with_log_path(current ? current : "", dir_ + "/report"));
    }
    return env;
}

void SanitizerReports::route_children_here() const {
    for (const std::string& entry : child_environment()) {
        const auto eq = entry.find('=');
        setenv(entry.substr(0, eq).c_str(), entry.substr(eq + 1).c_str(), 1);
    }
}

std::vector<std::string> SanitizerReports::take_new() {
    std::vector<std::string> names;
    if (DIR* dir = opendir(dir_.c_str())) {
        while (dirent* entry = readdir(dir)) {
            if (std::string(entry->d_name).rfind("report.", 0) == 0) names.push_back(entry->d_name);
        }
        closedir(dir);
    }
    std::sort(names.begin(), names.end());
    std::vector<std::string> reports;
    for (const std::string& name : names) {
        const std::string path = dir_ + "/" + name;
        reports.push_back(name + ":\n" + read_file(path));
        unlink(path.c_str());
    }
    return reports;
}

void SanitizerReportListener::endTest(CppUnit::Test* test) {
    for (const std::string& report : reports_.take_new()) {
        result_.addFailure(test, new CppUnit::Exception(CppUnit::Message("sanitizer report from a child process", report)));
    }
}

bool provoke_sanitizer_report() {
#if defined(__SANITIZE_THREAD__)
    int shared = 0;
    std::thread other([&shared] { ++shared; });
    ++shared;  // unordered with the other thread's write: a data race
    other.join();
    return shared > 0;
#elif defined(__SANITIZE_ADDRESS__)
    // A read after free, which UBSan has no check for: UBSan's own reports do not follow
    // log_path in this build (see the header), and it would report an overflow first.
    char* volatile bytes = new char[4]();  // volatile: the allocation may not be elided
    delete[] bytes;
    return bytes[0] == 0;
#else
    return false;
#endif
}

}}  // namespace fcgihost::testing_support
