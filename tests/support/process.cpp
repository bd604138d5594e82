#include "support/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434  // same number on every architecture
#endif

extern char** environ;

namespace fcgihost { namespace testing_support {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::system_error sys_error(const std::string& what, int err = errno) {
    return std::system_error(err, std::generic_category(), what);
}

class UniqueFd {
public:
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

int poll_ms(milliseconds t) {
    return static_cast<int>(std::max(t, milliseconds(0)).count());
}

std::vector<std::string> merged_environment(const std::vector<std::string>& overrides) {
    std::vector<std::string> out;
    for (char** e = environ; *e != nullptr; ++e) out.emplace_back(*e);
    for (const auto& o : overrides) {
        const auto eq = o.find('=');
        const std::string prefix = o.substr(0, eq) + "=";
        out.erase(std::remove_if(out.begin(), out.end(),
                                 [&](const std::string& e) { return e.compare(0, prefix.size(), prefix) == 0; }),
                  out.end());
        if (eq != std::string::npos) out.push_back(o);
    }
    return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// glibc's sigfillset() leaves out its internal signals (32 and 33, below SIGRTMIN), and its
// posix_spawn() then sets exactly those to SIG_IGN in the child, which survives exec. Setting their
// bits directly puts them in the SETSIGDEF set, so they start as SIG_DFL like every other signal.
void add_libc_internal_signals(sigset_t& set) {
    constexpr unsigned word_bits = 8 * sizeof set.__val[0];
    for (int sig = 32; sig < SIGRTMIN; ++sig) {
        const auto bit = static_cast<unsigned>(sig - 1);
        set.__val[bit / word_bits] |= 1UL << (bit % word_bits);
    }
}

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
                           const std::vector<std::string>& env, int stdin_fd)
    : log_path_(log_path) {
    if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
    UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
    if (log.get() < 0) throw sys_error("open " + log_path);
    // Copies numbered >= 3, so the dup2 sequence below never overwrites a source before using it.
    UniqueFd log_fd(::fcntl(log.get(), F_DUPFD_CLOEXEC, 3));
    UniqueFd in_fd(stdin_fd >= 0 ? ::fcntl(stdin_fd, F_DUPFD_CLOEXEC, 3) : -1);
    if (log_fd.get() < 0 || (stdin_fd >= 0 && in_fd.get() < 0)) throw sys_error("fcntl(F_DUPFD_CLOEXEC)");

    std::vector<std::string> args = argv;
    std::vector<std::string> envs = merged_environment(env);
    std::vector<char*> argv_c = c_strings(args);
    std::vector<char*> envp_c = c_strings(envs);

    // posix_spawn does the fork/exec part, so nothing unsafe runs in the child between the two.
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    if (int rc = posix_spawn_file_actions_init(&actions)) throw sys_error("posix_spawn_file_actions_init", rc);
    if (int rc = posix_spawnattr_init(&attr)) {
        posix_spawn_file_actions_destroy(&actions);
        throw sys_error("posix_spawnattr_init", rc);
    }
    sigset_t empty_mask;
    sigset_t all_signals;
    sigemptyset(&empty_mask);
    sigfillset(&all_signals);
    add_libc_internal_signals(all_signals);
    int rc = in_fd.get() >= 0 ? posix_spawn_file_actions_adddup2(&actions, in_fd.get(), 0)
                              : posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, log_fd.get(), 1);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, log_fd.get(), 2);
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // close_range() in glibc
    if (rc == 0) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &empty_mask);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all_signals);
    if (rc == 0) rc = posix_spawn(&pid_, args[0].c_str(), &actions, &attr, argv_c.data(), envp_c.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw sys_error("posix_spawn " + args[0], rc);  // glibc has reaped a failed child

    // The pid cannot be recycled before we reap it, so opening the pidfd late is race-free.
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
}

ChildProcess::~ChildProcess() {
    if (!reap()) {
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
    if (pidfd_ >= 0) ::close(pidfd_);
}

pid_t ChildProcess::pid() const { return pid_; }

void ChildProcess::signal(int sig) {
    if (!reap()) ::kill(pid_, sig);
}

bool ChildProcess::reap() const {
    if (exited_) return true;
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    exited_ = true;
    status_known_ = r == pid_;
    status_ = status;
    return true;
}

bool ChildProcess::wait_exit(std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    milliseconds backoff(1);
    bool pidfd_fired = false;
    for (;;) {
        if (reap()) return true;
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        if (pidfd_ >= 0 && !pidfd_fired) {
            pollfd p{pidfd_, POLLIN, 0};
            pidfd_fired = ::poll(&p, 1, poll_ms(left)) > 0;
        } else {
            // No pidfd, or it fired while waitpid() still sees the child (a leader thread exited
            // before its siblings): sleep in growing steps instead of spinning.
            ::poll(nullptr, 0, poll_ms(std::min(backoff, left)));
            backoff = std::min(backoff * 2, milliseconds(20));
        }
    }
}

bool ChildProcess::exited() const { return reap(); }

int ChildProcess::exit_code() const {
    if (!reap() || !status_known_) return -1;
    if (WIFEXITED(status_)) return WEXITSTATUS(status_);
    if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
    return -1;
}

std::string ChildProcess::log() const { return read_file(log_path_); }

bool ChildProcess::wait_for_log(const std::string& needle, std::chrono::milliseconds limit) const {
    return wait_for_file_text(log_path_, needle, limit);
}

bool wait_for_file_text(const std::string& path, const std::string& needle, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    UniqueFd notify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    // A directory watch also reports creation, rename-into-place and writes to files inside it,
    // so it works before the file exists. It is set up before the first read to miss no write.
    const bool watching =
        notify.get() >= 0 &&
        ::inotify_add_watch(notify.get(), directory_of(path).c_str(),
                            IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) >= 0;
    const milliseconds recheck = watching ? milliseconds(250) : milliseconds(20);
    for (;;) {
        if (read_file(path).find(needle) != std::string::npos) return true;
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{notify.get(), POLLIN, 0};
        if (::poll(watching ? &p : nullptr, watching ? 1 : 0, poll_ms(std::min(left, recheck))) > 0) {
            char events[4096];
            while (::read(notify.get(), events, sizeof events) > 0) {
            }
        }
    }
}

std::size_t count_lines_with(const std::string& path, const std::string& needle) {
    std::istringstream in(read_file(path));
    std::size_t count = 0;
    for (std::string line; std::getline(in, line);)
        if (line.find(needle) != std::string::npos) ++count;
    return count;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "";
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/fcgihost-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) throw sys_error("mkdtemp " + templ);
    path_ = templ;
}

TempDir::~TempDir() {
    std::error_code ignored;  // a destructor cannot report; leftovers in $TMPDIR are harmless
    std::filesystem::remove_all(path_, ignored);
}

const std::string& TempDir::path() const { return path_; }

std::string TempDir::file(const std::string& name) const { return path_ + "/" + name; }

std::string runner_dir() {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) throw std::runtime_error("cannot find the test runner's own path");
    std::string path(self, static_cast<std::size_t>(n));
    return path.substr(0, path.rfind('/'));
}

// Every process below `root`, read from /proc. Taken before any of them is killed, since
// a dead parent's children are re-parented out of reach.
std::vector<pid_t> descendants_of(pid_t root) {
    std::multimap<pid_t, pid_t> children;  // parent -> child
    if (DIR* proc = opendir("/proc")) {
        while (dirent* entry = readdir(proc)) {
            char* end = nullptr;
            long pid = std::strtol(entry->d_name, &end, 10);
            if (pid <= 0 || *end != '\0') continue;
            std::string stat = read_file("/proc/" + std::string(entry->d_name) + "/stat");
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            std::size_t close = stat.rfind(')');
            if (close == std::string::npos) continue;
            std::istringstream rest(stat.substr(close + 1));
            std::string state;
            long ppid = 0;
            if (rest >> state >> ppid) children.emplace(static_cast<pid_t>(ppid), static_cast<pid_t>(pid));
        }
        closedir(proc);
    }
    std::vector<pid_t> out;
    std::vector<pid_t> pending{root};
    while (!pending.empty()) {
        pid_t parent = pending.back();
        pending.pop_back();
        auto range = children.equal_range(parent);
        for (auto it = range.first; it != range.second; ++it) {
            out.push_back(it->second);
            pending.push_back(it->second);
        }
    }
    return out;
}

bool process_gone(long pid) {
    if (::kill(static_cast<pid_t>(pid), 0) != 0) return true;
    const std::string text = read_file("/proc/" + std::to_string(pid) + "/stat");
    const std::size_t close = text.rfind(')');
    return close != std::string::npos && text.size() > close + 2 && text[close + 2] == 'Z';
}

}}  // namespace fcgihost::testing_support
