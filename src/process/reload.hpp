// Reload with overlap (docs/contract.md#reload): SIGUSR2 starts a successor process that
// gets the listening socket; once it serves, this process stops accepting and drains.
//
// Launch: the successor runs the executable PATH this process was started from (not
// /proc/self/exe, which names the old inode: a binary replaced on disk by rename must be the
// one that starts), with the same arguments and environment, plus LISTEN_FDS=1 and
// LISTEN_PID=<its pid> (fd 3 = the listener), FCGIHOST_READY_FD=4 (a pipe it writes one
// byte to once it serves), NOTIFY_SOCKET (which this process removed from its own
// environment at start) and FCGIHOST_RELOAD_FROM / FCGIHOST_RELOAD_GENERATION.
// Hazard: fork() in a threaded process. Between fork and exec the child makes only
// async-signal-safe calls; argv and envp are built before the fork, and the child's pid is
// written by hand into a buffer reserved in envp.
#pragma once

#include "process/systemd_notify.hpp"

#include <boost/thread/mutex.hpp>
#include <boost/thread/thread.hpp>

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace fcgihost {

// Call from main() before anything else: remembers the executable path (argv[0] made
// absolute against the working directory, without resolving symlinks, so that a symlink
// switched to a new release also starts the new build) and the arguments.
void remember_command_line(int argc, char** argv);

// What a successor learns at start from its predecessor. Read once, before threads start,
// and removed from the environment so that programs the application starts do not see it.
struct ReloadOrigin {
    int ready_fd = -1;       // write one byte here once serving; -1: not a successor
    long predecessor = 0;    // pid of the process that started this one; 0: none
    unsigned generation = 0; // 0 for a process started by hand, +1 per reload
};
// Reads and removes the variables; call once from main() before any thread starts.
void take_reload_origin();
// What take_reload_origin() read (all zero / -1 before it ran).
const ReloadOrigin& reload_origin();
// Tells the predecessor this process serves (and closes the fd). No effect if not a successor.
void report_serving();

// One reload at a time. request() is called on the signal thread; the waiting for the
// successor runs on a thread of its own, so a SIGTERM is acted on at once meanwhile.
class ReloadController {
public:
    struct Hooks {
        // The successor serves: hand over (systemd MAINPID, stop accepting, drain).
        std::function<void(pid_t successor)> on_serving;
    };

    ReloadController(const ReloadController&) = delete;
    ReloadController& operator=(const ReloadController&) = delete;
    ReloadController(int listener_fd, std::string notify_socket, unsigned generation,
                     std::chrono::milliseconds timeout, Hooks hooks);
    ~ReloadController();  // see finish()

    // SIGUSR2. Logged and ignored while a reload is pending, done, or the process stops.
    void request();
    // A stop signal: no reload starts after it; a pending one is ended (the successor gets
    // SIGTERM, which a process not yet serving obeys at once, and is reaped).
    void stop();
    // Waits for the reload thread (a pending successor is reaped by it).
    void finish();
    bool handed_over() const;

private:
    void attempt();

    const int listener_fd_;
    const std::string notify_socket_;
    const unsigned generation_;
    const std::chrono::milliseconds timeout_;
    const Hooks hooks_;
    int cancel_fd_ = -1;  // eventfd written by stop(); read by the reload thread's poll

    mutable boost::mutex mutex_;
    bool busy_ = false;        // guarded by mutex_; a reload thread runs
    bool stopped_ = false;     // guarded by mutex_
    bool handed_over_ = false; // guarded by mutex_
    boost::thread thread_;     // guarded by mutex_ (started and joined under it: see finish())
};

// --pid-file: written as a temp file then renamed, so a reader never sees a half-written pid.
// Returns false (and logs) if it cannot be written.
bool write_pid_file(const std::string& path);
// Removes it if it still names this process (a successor may have replaced it).
void remove_pid_file(const std::string& path);

}  // namespace fcgihost
