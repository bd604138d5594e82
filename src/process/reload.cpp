#include "process/reload.hpp"

#include "fcgihost/log.hpp"

#include <boost/thread/lock_guard.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <fstream>

extern char** environ;

namespace fcgihost {
namespace {

constexpr int kListenerFd = 3;  // LISTEN_FDS' first fd
constexpr int kReadyFd = 4;

// Written once by remember_command_line() before any thread starts; read-only afterwards.
std::string g_executable;
std::vector<std::string> g_arguments;

bool env_name_is(const char* entry, const char* name) {
    const std::size_t n = std::strlen(name);
    return std::strncmp(entry, name, n) == 0 && entry[n] == '=';
}

long env_number(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? 0 : std::strtol(v, nullptr, 10);
}

// Async-signal-safe: decimal digits of `value` written at `out` (room for 20), NUL-terminated.
void write_decimal(char* out, long value) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value > 0 && n < 20);
    while (n > 0) *out++ = digits[--n];
    *out = '\0';
}

std::string exit_text(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status));
    return "ended";
}

// Everything the child needs, built before fork().
struct Launch {
    std::vector<std::string> env_text;
    std::vector<char*> argv;
    std::vector<char*> envp;
    char* listen_pid_digits = nullptr;  // inside envp's LISTEN_PID entry
};

void build_launch(Launch& l, const std::string& notify_socket, unsigned generation) {
    static const char* const kReplaced[] = {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
                                            "FCGIHOST_READY_FD", "FCGIHOST_RELOAD_FROM",
                                            "FCGIHOST_RELOAD_GENERATION"};
    for (char** e = environ; *e != nullptr; ++e) {
        bool replaced = false;
        for (const char* name : kReplaced) replaced = replaced || env_name_is(*e, name);
        if (!replaced) l.env_text.emplace_back(*e);
    }
    l.env_text.push_back("LISTEN_FDS=1");
    l.env_text.push_back("FCGIHOST_READY_FD=" + std::to_string(kReadyFd));
    l.env_text.push_back("FCGIHOST_RELOAD_FROM=" + std::to_string(getpid()));
    l.env_text.push_back("FCGIHOST_RELOAD_GENERATION=" + std::to_string(generation + 1));
    if (!notify_socket.empty()) l.env_text.push_back("NOTIFY_SOCKET=" + notify_socket);
    l.env_text.push_back("LISTEN_PID=" + std::string(24, '0'));
    for (std::string& s : l.env_text) l.envp.push_back(&s[0]);
    l.envp.push_back(nullptr);
    l.listen_pid_digits = &l.env_text.back()[std::strlen("LISTEN_PID=")];
    for (std::string& s : g_arguments) l.argv.push_back(&s[0]);
    l.argv.push_back(nullptr);
}

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_successor(const Launch& l, int listener_copy, int ready_copy) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
    }
    // Both copies sit at fds >= 10, so these dup2s never overwrite each other; dup2 leaves
    // FD_CLOEXEC clear on the new fd.
    if (dup2(listener_copy, kListenerFd) < 0 || dup2(ready_copy, kReadyFd) < 0) _exit(126);
    if (syscall(SYS_close_range, kReadyFd + 1, ~0U, 0) != 0) {
        for (int fd = kReadyFd + 1; fd < 65536; ++fd) close(fd);
    }
    write_decimal(l.listen_pid_digits, static_cast<long>(getpid()));
    execve(l.argv[0], l.argv.data(), l.envp.data());
    _exit(127);
}

}  // namespace

void remember_command_line(int argc, char** argv) {
    g_arguments.assign(argv, argv + argc);
    std::string exe = argc > 0 ? argv[0] : "";
    if (exe.find('/') == std::string::npos) {
        // Found through $PATH: the path the kernel ran is only known as /proc/self/exe.
        char buf[PATH_MAX];
        const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        exe = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : exe;
    } else if (exe[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd) != nullptr) exe = std::string(cwd) + "/" + exe;
    }
    g_executable = exe;
    if (!g_arguments.empty()) g_arguments[0] = exe;
}

namespace {
// Written once by take_reload_origin() before any thread starts.
ReloadOrigin g_origin;
}  // namespace

void take_reload_origin() {
    ReloadOrigin& o = g_origin;
    if (std::getenv("FCGIHOST_READY_FD") != nullptr) {
        const long fd = env_number("FCGIHOST_READY_FD");
        if (fd > 2 && fcntl(static_cast<int>(fd), F_GETFD) != -1) {
            o.ready_fd = static_cast<int>(fd);
            fcntl(o.ready_fd, F_SETFD, FD_CLOEXEC);
        }
    }
    o.predecessor = env_number("FCGIHOST_RELOAD_FROM");
    const long generation = env_number("FCGIHOST_RELOAD_GENERATION");
    o.generation = generation > 0 ? static_cast<unsigned>(generation) : 0;
    unsetenv("FCGIHOST_READY_FD");
    unsetenv("FCGIHOST_RELOAD_FROM");
    unsetenv("FCGIHOST_RELOAD_GENERATION");
}

const ReloadOrigin& reload_origin() { return g_origin; }

void report_serving() {
    ReloadOrigin& origin = g_origin;
    if (origin.ready_fd < 0) return;
    const char serving = 'S';
    ssize_t n;
    do n = write(origin.ready_fd, &serving, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) log_warn("reload: cannot tell pid ", origin.predecessor, " that this process serves: ",
                         std::strerror(errno));
    close(origin.ready_fd);
    origin.ready_fd = -1;
}

ReloadController::ReloadController(int listener_fd, std::string notify_socket, unsigned generation,
                                   std::chrono::milliseconds timeout, Hooks hooks)
    : listener_fd_(listener_fd),
      notify_socket_(std::move(notify_socket)),
      generation_(generation),
      timeout_(timeout),
      hooks_(std::move(hooks)),
      cancel_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

ReloadController::~ReloadController() {
    finish();
    if (cancel_fd_ >= 0) close(cancel_fd_);
}

void ReloadController::request() {
    boost::thread previous;  // an earlier attempt that has ended, or is just ending
    bool start = false;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (!stopped_ && !busy_ && !handed_over_ && !g_arguments.empty() && cancel_fd_ >= 0) {
            busy_ = true;
            start = true;
            previous = std::move(thread_);
        }
    }
    if (start) {
        if (previous.joinable()) previous.join();
        boost::lock_guard<boost::mutex> lock(mutex_);
        thread_ = boost::thread([this] { attempt(); });
        return;
    }
    log_info("SIGUSR2: ignored (a reload is pending, or this process is stopping)");
}

void ReloadController::stop() {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        stopped_ = true;
    }
    const std::uint64_t one = 1;
    if (cancel_fd_ >= 0 && write(cancel_fd_, &one, sizeof one) != sizeof one) {
        log_error("reload: cannot cancel: ", std::strerror(errno));
    }
}

void ReloadController::finish() {
    boost::thread thread;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        thread = std::move(thread_);
    }
    if (thread.joinable()) thread.join();
}

bool ReloadController::handed_over() const {
    boost::lock_guard<boost::mutex> lock(mutex_);
    return handed_over_;
}

void ReloadController::attempt() {
    // A failure is logged once this controller can take the next SIGUSR2: whoever reads
    // "this process serves on" and signals again gets a new attempt, not "ignored".
    std::function<void()> report_failure;
    try {
        Launch launch;
        build_launch(launch, notify_socket_, generation_);
        int ready[2];
        if (pipe2(ready, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
        const int listener_copy = fcntl(listener_fd_, F_DUPFD_CLOEXEC, 10);
        const int ready_copy = fcntl(ready[1], F_DUPFD_CLOEXEC, 10);
        close(ready[1]);
        pid_t pid = -1;
        if (listener_copy >= 0 && ready_copy >= 0) pid = fork();
        if (pid == 0) exec_successor(launch, listener_copy, ready_copy);
        const int fork_errno = errno;
        if (listener_copy >= 0) close(listener_copy);
        if (ready_copy >= 0) close(ready_copy);
        if (pid < 0) {
            close(ready[0]);
            throw std::runtime_error(std::string("cannot start a successor: ") + std::strerror(fork_errno));
        }
        log_info("SIGUSR2: reload: started successor pid ", pid, " (", g_executable, "); waiting up to ",
                 timeout_.count(), " ms for it to serve");

        enum { serving, exited, timed_out, cancelled } outcome = timed_out;
        const auto deadline = std::chrono::steady_clock::now() + timeout_;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                    std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd fds[2] = {{ready[0], POLLIN, 0}, {cancel_fd_, POLLIN, 0}};
            const int n = poll(fds, 2, static_cast<int>(left.count()));
            if (n < 0 && errno == EINTR) continue;
            if (fds[1].revents != 0) {
                outcome = cancelled;
                break;
            }
            if (fds[0].revents != 0) {
                char byte = 0;
                ssize_t got;
                do got = read(ready[0], &byte, 1);
                while (got < 0 && errno == EINTR);
                outcome = got == 1 ? serving : exited;  // end of file: it closed the pipe by exiting
                break;
            }
        }
        close(ready[0]);
        int status = 0;
        if (outcome == serving) {
            {
                boost::lock_guard<boost::mutex> lock(mutex_);
                handed_over_ = !stopped_;
            }
            if (handed_over()) {
                log_info("reload: successor pid ", pid, " serves; this process stops accepting and drains");
                hooks_.on_serving(pid);
            } else {
                // A stop signal came first: the successor stops too.
                kill(pid, SIGTERM);
                waitpid(pid, &status, 0);
                log_info("reload: stop signal while the successor started; successor pid ", pid, " ",
                         exit_text(status));
            }
        } else if (outcome == exited) {
            waitpid(pid, &status, 0);
            report_failure = [pid, status] {
                log_error("reload failed: successor pid ", pid, " ", exit_text(status),
                          " before it served; this process serves on");
            };
        } else if (outcome == timed_out) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            report_failure = [pid, ms = timeout_.count()] {
                log_error("reload failed: successor pid ", pid, " was not serving within ", ms,
                          " ms (--reload-timeout); killed it; this process serves on");
            };
        } else {
            // Not yet serving, so it has no work to lose: SIGTERM ends it at once.
            kill(pid, SIGTERM);
            waitpid(pid, &status, 0);
            log_info("reload cancelled by a stop signal: successor pid ", pid, " ", exit_text(status));
        }
    } catch (const std::exception& e) {
        const std::string what = e.what();
        report_failure = [what] { log_error("reload failed: ", what, "; this process serves on"); };
    }
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        busy_ = false;
    }
    if (report_failure) report_failure();
}

bool write_pid_file(const std::string& path) {
    const std::string temp = path + ".tmp" + std::to_string(getpid());
    {
        std::ofstream out(temp, std::ios::trunc);
        out << getpid() << "\n";
        out.flush();
        if (!out) {
            log_error("--pid-file ", path, ": cannot write ", temp);
            unlink(temp.c_str());
            return false;
        }
    }
    if (rename(temp.c_str(), path.c_str()) != 0) {
        log_error("--pid-file ", path, ": ", std::strerror(errno));
        unlink(temp.c_str());
        return false;
    }
    return true;
}

void remove_pid_file(const std::string& path) {
    std::ifstream in(path);
    long pid = 0;
    if (in >> pid && pid == static_cast<long>(getpid())) unlink(path.c_str());
}

}  // namespace fcgihost
