// Child processes, log files and scratch directories for integration tests.
// Not thread-safe: each object belongs to one thread at a time.
//
// Waiting on files (wait_for_log, wait_for_file_text) uses inotify on the file's directory, so a
// write or creation wakes the waiter at once; the file is also re-read every 250 ms in case an
// event is missed (e.g. a write through another hard link). If inotify is unavailable it falls
// back to re-reading every 20 ms. Neither mode busy-waits.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace fcgihost { namespace testing_support {

class ChildProcess {
public:
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Starts argv[0] (a path, no $PATH search) with argv and the current environment, where each
    // `env` entry "NAME=value" replaces or adds NAME and a bare "NAME" removes it.
    // stdout and stderr go to `log_path` (created/truncated here, opened O_APPEND so both streams
    // interleave without overwriting). fd 0 is a copy of stdin_fd if >= 0, else /dev/null; every
    // other fd is closed. The child starts with an empty signal mask and default dispositions
    // whatever the test process blocks or ignores. Throws std::invalid_argument for an empty argv
    // and std::system_error if the log cannot be created or the spawn fails (including a missing
    // executable); nothing is left running then.
    ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
                 const std::vector<std::string>& env = {}, int stdin_fd = -1);
    ~ChildProcess();  // SIGKILL and reap if still running, so no zombie outlives the test

    pid_t pid() const;
    void signal(int sig);  // no-op once reaped: the pid may belong to someone else by then

    // True once the child has exited (it is reaped then); never blocks longer than `limit`.
    // Sleeps on a pidfd; only kernels without pidfd_open fall back to waitpid(WNOHANG) with a
    // 1..20 ms poll() backoff.
    bool wait_exit(std::chrono::milliseconds limit);
    bool exited() const;    // checks without blocking, reaping if the child has exited
    int exit_code() const;  // WEXITSTATUS, 128+signal if killed, -1 if running or reaped elsewhere

    std::string log() const;
    bool wait_for_log(const std::string& needle, std::chrono::milliseconds limit) const;

private:
    bool reap() const;  // non-blocking

    pid_t pid_ = -1;
    int pidfd_ = -1;
    std::string log_path_;
    mutable bool exited_ = false;
    mutable int status_ = 0;
    mutable bool status_known_ = false;  // false if someone else reaped the child (ECHILD)
};

// Whether `path` contains `needle` within `limit`; the file need not exist yet.
bool wait_for_file_text(const std::string& path, const std::string& needle, std::chrono::milliseconds limit);
// Lines of `path` containing `needle` (a last line without '\n' counts); 0 if the file is missing.
std::size_t count_lines_with(const std::string& path, const std::string& needle);
std::string read_file(const std::string& path);  // "" if it cannot be opened

// The directory of the running test binary (build/ beside nginx/, apache/ and tests/).
std::string runner_dir();

// Every process below `root`, read from /proc. Take it before killing any of them: a dead
// parent's children are re-parented out of reach.
std::vector<pid_t> descendants_of(pid_t root);

// True once `pid` has exited: gone, or a zombie its parent has not reaped yet. For a process
// that is not the caller's child (a reload's successor), which wait_exit cannot see.
bool process_gone(long pid);

// A fresh directory from mkdtemp under $TMPDIR (or /tmp), removed with its contents on destruction.
// Keep names short if it will hold unix sockets: sun_path holds 107 bytes.
class TempDir {
public:
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    TempDir();  // throws std::system_error
    ~TempDir();

    const std::string& path() const;
    std::string file(const std::string& name) const;  // path() + "/" + name

private:
    std::string path_;
};

}}  // namespace fcgihost::testing_support
