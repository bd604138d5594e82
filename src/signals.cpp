#include "fcgihost/signals.hpp"

#include "fcgihost/log.hpp"

#include <pthread.h>
#include <signal.h>


namespace fcgihost {
namespace {

sigset_t watched_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&set, sig);
    return set;
}

}  // namespace

void block_stop_signals() {
    sigset_t set = watched_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, nullptr);
}

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)), thread_([this] { run(); }) {}

SignalWatcher::~SignalWatcher() {
    // A SIGUSR2 aimed at the watcher is how it is told to return: sigwait has no other
    // way out. The flag tells it apart from a SIGUSR2 someone sends the process.
    stop_requested_ = true;
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
}

void SignalWatcher::run() {
    sigset_t set = watched_signals();
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGUSR2 && stop_requested_) return;
        if (sig == SIGUSR1 || sig == SIGUSR2) {
            log_info("ignoring signal ", sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
            continue;
        }
        on_signal_(sig);
    }
}

}  // namespace fcgihost
