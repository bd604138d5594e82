#include "fastcgi/acceptor.hpp"

#include "fcgihost/log.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace fcgihost {
namespace {

// The wake signal may land between the registration and accept4(); repeated this often.
constexpr auto kWakeRetry = boost::chrono::milliseconds(20);

int wake_signal() { return SIGRTMIN; }

void on_wake_signal(int) {}

void install_wake_handler() {
    static std::once_flag installed;
    std::call_once(installed, [] {
        struct sigaction action {};
        action.sa_handler = on_wake_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0;  // no SA_RESTART: accept4 must fail with EINTR
        sigaction(wake_signal(), &action, nullptr);
    });
}

bool out_of_fds(int err) { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }

}  // namespace

Acceptor::Acceptor(Listener& listener) : listener_(listener) {
    if (listener_.inherited()) install_wake_handler();
}

void Acceptor::prepare_thread() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, wake_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

int Acceptor::accept_allowed(bool& refused) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = accept4(listener_.fd(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    refused = false;
    if (fd < 0 || !listener_.is_tcp() || listener_.peer_allowed(peer)) return fd;
    ::close(fd);
    refused = true;
    return -1;
}

Acceptor::Accepted Acceptor::accept_one() {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (stopped_) return {Outcome::stopped, -1};
        in_accept_.push_back(pthread_self());
    }
    bool refused = false;
    const int fd = accept_allowed(refused);
    const int err = errno;
    bool stopped;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        in_accept_.erase(std::find(in_accept_.begin(), in_accept_.end(), pthread_self()));
        stopped = stopped_;
    }
    left_accept_.notify_all();
    if (fd >= 0) {
        if (starved_.exchange(false)) log_info("accept: accepting connections again");
        return {Outcome::connection, fd};
    }
    if (refused) {
        log_warn("connection refused: peer not in FCGI_WEB_SERVER_ADDRS");
        return {Outcome::none_pending, -1};
    }
    if (stopped) return {Outcome::stopped, -1};
    if (out_of_fds(err)) {
        if (!starved_.exchange(true)) {
            log_warn("accept: ", std::strerror(err), "; pausing accepts until a connection closes");
        }
        return {Outcome::starved, -1};
    }
    if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR && err != ECONNABORTED) {
        log_warn("accept: ", std::strerror(err));
    }
    return {Outcome::none_pending, -1};
}

void Acceptor::stop() {
    boost::unique_lock<boost::mutex> lock(mutex_);
    stopped_ = true;
    while (!in_accept_.empty()) {
        // Only an inherited socket can be blocking; a created one returns by itself.
        if (listener_.inherited()) {
            for (pthread_t thread : in_accept_) pthread_kill(thread, wake_signal());
        }
        left_accept_.wait_for(lock, kWakeRetry);
    }
}

std::vector<int> Acceptor::take_backlog() {
    std::vector<int> taken;
    if (listener_.inherited()) return taken;
    for (;;) {
        bool refused = false;
        const int fd = accept_allowed(refused);
        if (fd >= 0) {
            taken.push_back(fd);
        } else if (refused) {
            log_warn("connection refused: peer not in FCGI_WEB_SERVER_ADDRS");
        } else if (errno != EINTR && errno != ECONNABORTED) {
            return taken;  // EAGAIN: the backlog is empty (a created socket never blocks)
        }
    }
}

}  // namespace fcgihost
