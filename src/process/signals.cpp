#include "process/signals.hpp"

#include "fcgihost/log.hpp"

#include <boost/thread/lock_guard.hpp>
#include <boost/thread/mutex.hpp>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

namespace fcgihost {
namespace {

// Not a signal number: the byte a stopping SignalWatcher writes to end its own read loop.
constexpr unsigned char kWatcherStop = 0;

constexpr int kRecordedSignals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2};

// The self-pipe's ends, -1 until install_signal_handlers() made it. Lock-free atomics, so the
// handler may read them.
std::atomic<int> signal_pipe_read{-1};
std::atomic<int> signal_pipe_write{-1};
static_assert(std::atomic<int>::is_always_lock_free, "a signal handler reads this");

// The process that made the pipe. A child forked without exec keeps the handlers and the
// pipe; a signal sent to it must not stop its parent.
std::atomic<pid_t> signal_pipe_owner{0};
static_assert(std::atomic<pid_t>::is_always_lock_free, "a signal handler reads this");

extern "C" void record_signal(int sig) {
    const int saved_errno = errno;
    if (::getpid() != signal_pipe_owner.load(std::memory_order_relaxed)) {
        // A forked child: the signal does to it what it would have done by default.
        struct sigaction default_action {};
        default_action.sa_handler = SIG_DFL;
        sigemptyset(&default_action.sa_mask);
        sigaction(sig, &default_action, nullptr);
        ::raise(sig);
        errno = saved_errno;
        return;
    }
    const unsigned char number = static_cast<unsigned char>(sig);
    // The write end never blocks: with 64 KiB of signals the watcher has not read yet, the
    // newest is dropped rather than the handler hanging the thread it interrupted.
    ssize_t ignored = ::write(signal_pipe_write.load(std::memory_order_relaxed), &number, 1);
    (void)ignored;
    errno = saved_errno;
}

extern "C" void do_nothing(int) {}

// The pipe is made once and kept for the life of the process: a handler may still run
// (and write to it) at any time. Returns 0 or the errno of the failure.
int make_signal_pipe() {
    static boost::mutex made_mutex;  // guards the making, so two first callers make one pipe
    boost::lock_guard<boost::mutex> lock(made_mutex);
    if (signal_pipe_write.load() >= 0) return 0;
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) return errno;
    if (::fcntl(ends[1], F_SETFL, O_NONBLOCK) != 0) {
        const int err = errno;
        ::close(ends[0]);
        ::close(ends[1]);
        return err;
    }
    signal_pipe_owner = ::getpid();
    signal_pipe_read = ends[0];
    signal_pipe_write = ends[1];
    return 0;
}

void set_handler(int sig, void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(sig, &action, nullptr);
}

std::function<void(int)> after_installing_handlers(std::function<void(int)> on_signal) {
    if (const int err = install_signal_handlers()) throw std::system_error(err, std::generic_category(), "signal pipe");
    return on_signal;
}

}  // namespace

int install_signal_handlers() {
    if (const int err = make_signal_pipe()) return err;
    sigset_t ours;
    sigemptyset(&ours);
    for (int sig : kRecordedSignals) {
        set_handler(sig, record_signal);
        sigaddset(&ours, sig);
    }
    set_handler(SIGPIPE, do_nothing);
    set_handler(SIGXFSZ, do_nothing);
    sigaddset(&ours, SIGPIPE);
    sigaddset(&ours, SIGXFSZ);
    // A mask inherited from whoever started the process would hold these back for ever.
    pthread_sigmask(SIG_UNBLOCK, &ours, nullptr);
    return 0;
}

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal, std::function<void()> on_reload)
    : on_signal_(after_installing_handlers(std::move(on_signal))),
      on_reload_(std::move(on_reload)),
      thread_([this] { run(); }) {}

SignalWatcher::~SignalWatcher() {
    const int fd = signal_pipe_write.load();
    // The pipe may be full of signals the watcher has yet to read; wait for room, not spin.
    while (::write(fd, &kWatcherStop, 1) != 1) {
        if (errno != EAGAIN && errno != EINTR) break;
        pollfd room{fd, POLLOUT, 0};
        ::poll(&room, 1, -1);
    }
    thread_.join();
}

void SignalWatcher::run() {
    const int fd = signal_pipe_read.load();
    for (;;) {
        // One byte at a time: whatever follows the stop byte stays for the next watcher.
        unsigned char number = 0;
        const ssize_t n = ::read(fd, &number, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n != 1) {
            log_error("signal pipe: read failed; stop signals are no longer acted on");
            return;
        }
        const int sig = number;
        if (sig == kWatcherStop) return;
        if (sig == SIGUSR2 && on_reload_) {
            try {
                on_reload_();
            } catch (const std::exception& e) {
                log_error("SIGUSR2: reload failed: ", e.what());
            }
            continue;
        }
        if (sig == SIGUSR1 || sig == SIGUSR2) {
            log_info("ignoring signal ", sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
            continue;
        }
        try {
            on_signal_(sig);
        } catch (const std::exception& e) {
            log_error("signal ", sig, ": handler failed: ", e.what());
        } catch (...) {
            log_error("signal ", sig, ": handler failed");
        }
    }
}

}  // namespace fcgihost
