// SignalWatcher: the one thread that receives signals.
//
// block_stop_signals() must run in the main thread before any other thread exists (and
// before FCGX_Init, which would otherwise install flag-only handlers): every thread
// created later inherits the mask, so the stop signals are delivered only to the
// watcher's sigwait(). SIGPIPE is ignored, so a write to a web server that went away is
// an EPIPE error on that request, not the end of the process.
#pragma once

#include <boost/thread/thread.hpp>

#include <atomic>
#include <functional>

namespace fcgihost {

// Blocks SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1 and SIGUSR2 in the calling thread;
// ignores SIGPIPE.
void block_stop_signals();

class SignalWatcher {
public:
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

    // Starts the thread. `on_signal` runs on it for each signal received; it must only
    // record (take a lock, set state, notify) and must not throw.
    explicit SignalWatcher(std::function<void(int)> on_signal);
    ~SignalWatcher();  // stops and joins the thread

private:
    void run();

    std::function<void(int)> on_signal_;
    std::atomic<bool> stop_requested_{false};
    boost::thread thread_;  // last: starts once the members above exist
};

}  // namespace fcgihost
