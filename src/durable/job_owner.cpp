// Who owns a claimed job, and whether that owner still lives. On one host a dead owner is
// visible at once in /proc; the pid alone is not enough (pids are reused), so the owner
// also records the boot id and the process's start time in clock ticks since boot.
#include "durable/job_store.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace fcgihost {
namespace {

std::string first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// Field 22 of /proc/PID/stat (starttime); "" if the process does not exist. The command
// name (field 2) may hold spaces and ')', so fields are counted after the last ')'.
std::string start_ticks(std::int64_t pid) {
    std::string stat = first_line("/proc/" + std::to_string(pid) + "/stat");
    std::size_t close = stat.rfind(')');
    if (close == std::string::npos) return std::string();
    std::istringstream fields(stat.substr(close + 1));
    std::string field;
    for (int i = 3; i <= 22 && (fields >> field); ++i) {
        if (i == 22) return field;
    }
    return std::string();
}

std::string hostname() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return "localhost";
    return name;
}

}  // namespace

JobOwner JobOwner::self() {
    JobOwner owner;
    owner.host = hostname();
    owner.pid = static_cast<std::int64_t>(getpid());
    owner.start = first_line("/proc/sys/kernel/random/boot_id") + "/" + start_ticks(owner.pid);
    return owner;
}

bool owner_alive_here(const JobOwner& owner) {
    static const std::string here = hostname();
    static const std::string boot = first_line("/proc/sys/kernel/random/boot_id");
    if (owner.host != here) return true;  // another host: only its lease can tell
    if (owner.start.compare(0, boot.size() + 1, boot + "/") != 0) return false;  // an earlier boot
    std::string ticks = start_ticks(owner.pid);
    return !ticks.empty() && owner.start == boot + "/" + ticks;
}

}  // namespace fcgihost
