// Signals: handlers only record; one thread, the SignalWatcher, acts on them.
//
// install_signal_handlers() gives SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1 and SIGUSR2 a
// handler that writes the signal's number to a self-pipe and does nothing else
// (async-signal-safe, errno kept, SA_RESTART). The watcher thread reads the pipe and calls
// its callback. No signal is blocked in any thread: a blocked mask is inherited by every
// program the process starts (fork/exec, posix_spawn, system(), popen()), and such a program
// would ignore the SIGTERM systemd sends it at stop. A caught signal goes back to SIG_DFL
// across exec, so children start with an empty mask and default dispositions. A child
// forked without exec keeps the handlers, but there they act as the default would (a
// SIGTERM ends that child), rather than write to its parent's pipe.
//
// SIGPIPE and SIGXFSZ get a handler that does nothing, rather than SIG_IGN (which exec
// keeps): a write to a web server that went away fails with EPIPE, a write past
// RLIMIT_FSIZE with EFBIG, and neither ends the process.
//
// Hazard: since no thread blocks these signals, any thread may run a handler, and a blocking
// call on that thread may then return EINTR (poll, epoll_wait, a socket read with
// SO_RCVTIMEO, a partial write). Code making such calls retries on EINTR.
#pragma once

#include <boost/thread/thread.hpp>

#include <functional>

namespace fcgihost {

// Installs the handlers above and unblocks those signals in the calling thread (call it from
// the main thread before starting others). Safe to call again (re-installs them; the
// self-pipe is made once). Signals that arrive before a SignalWatcher runs wait in the pipe
// for it. Returns 0, or the errno of a failure to make the self-pipe (nothing installed).
int install_signal_handlers();

class SignalWatcher {
public:
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

    // Installs the handlers (if not yet done; throws std::system_error if that fails) and
    // starts the thread. `on_signal` runs on it
    // for each SIGTERM, SIGINT, SIGQUIT or SIGHUP received (SIGUSR1 and SIGUSR2 are logged
    // and ignored); it must only record (take a lock, set state, notify). An exception from
    // it is logged, not propagated. Only one watcher may exist at a time.
    // `on_reload`, if given, runs for SIGUSR2 instead (same rules).
    explicit SignalWatcher(std::function<void(int)> on_signal, std::function<void()> on_reload = nullptr);
    ~SignalWatcher();  // stops and joins the thread; signals not yet read stay in the pipe

private:
    void run();

    std::function<void(int)> on_signal_;
    std::function<void()> on_reload_;
    boost::thread thread_;  // last: starts once the members above exist
};

}  // namespace fcgihost
