#include "support/proc_stats.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fcgihost { namespace testing_support {

namespace {

long status_field_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.compare(0, field.size() + 1, field + ":") == 0) return std::stol(line.substr(field.size() + 1));
    }
    return -1;
}

}  // namespace

long proc_rss_kib(pid_t pid) { return status_field_kib(pid, "VmRSS"); }
long proc_vm_size_kib(pid_t pid) { return status_field_kib(pid, "VmSize"); }
long proc_vm_peak_kib(pid_t pid) { return status_field_kib(pid, "VmPeak"); }

long proc_cpu_ticks(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
    std::size_t close = stat.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream fields(stat.substr(close + 1));
    std::string skip;
    for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
    long utime = -1;
    long stime = -1;
    fields >> utime >> stime;
    return (utime < 0 || stime < 0) ? -1 : utime + stime;
}

long proc_ticks_per_second() { return sysconf(_SC_CLK_TCK); }

std::size_t proc_open_fds(pid_t pid) {
    std::error_code ec;
    std::size_t n = 0;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
        ++n;
    }
    return n;
}

}}  // namespace fcgihost::testing_support
