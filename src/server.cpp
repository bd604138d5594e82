// DESIGN
// Threads. N request threads share one epoll set. Every member of the set is one-shot,
// so an event goes to exactly one thread, which re-arms the fd when it is done with it:
//   tag 0  the listener: the thread accepts one connection, re-arms the listener (so the
//          next idle thread takes the next one), and serves it at once if its request is
//          already there, else registers it;
//   tag 1  stop_fd_, an eventfd written once by begin_stop() and never read;
//   tag 2+ a connection: the thread serves one request on it with libfcgi (and any that
//          came right behind it, already read), then re-arms it (FCGI_KEEP_CONN) or
//          lets libfcgi close it.
// Stop. begin_stop() marks the server stopping and makes stop_fd_ readable. The first
// thread to get that event removes a created socket's path, accepts the backlog that is
// already queued (those clients are served, not reset), closes the listener, and closes
// kept connections that are idle with nothing to read. A connection that has not sent its
// first request yet is not idle: its request may be on its way (a client that reached the
// backlog before the stop writes right after its connect), so it gets --io-timeout to
// send it, like a request thread blocked reading it would. When nothing is left the thread
// re-arms stop_fd_ before it exits, which wakes the next idle thread, and so on: a relay
// that reaches every thread without any of them spinning on a readable fd. Whoever
// closes the last connection re-arms it too.
// libfcgi. Each request on a connection is one exchange() (fcgi_exchange.cpp), which
// explains how a connection we accepted ourselves is handed to FCGX_Accept_r. Each thread
// also owns an FcgiInput, which checks every byte libfcgi reads (fcgi_input.hpp).
#include "fcgihost/server.hpp"

#include "fcgi_exchange.hpp"
#include "fcgi_input.hpp"
#include "fcgihost/log.hpp"

#include <fcgiapp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace fcgihost {
namespace {

constexpr std::uint64_t kListenerTag = 0;
constexpr std::uint64_t kStopTag = 1;
constexpr int kPausedRetryMs = 250;

enum class Peek { data, eof, nothing };

Peek peek(int fd) {
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return Peek::data;
    if (n == 0) return Peek::eof;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? Peek::nothing : Peek::eof;
}

void set_io_timeout(int fd, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

}  // namespace

Server::Server(Listener& listener, Handler handler, ServerOptions options)
    : listener_(listener),
      handler_(std::move(handler)),
      options_(options),
      counters_(std::make_unique<ExchangeCounters>()) {}

Server::~Server() {
    begin_stop();
    threads_.join_all();
    for (auto& entry : connections_) ::close(entry.second.fd);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (stop_fd_ >= 0) ::close(stop_fd_);
}

void Server::arm(int fd, std::uint64_t tag, int op) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = tag;
    if (epoll_ctl(epoll_fd_, op, fd, &ev) != 0) {
        log_error("epoll_ctl(fd ", fd, "): ", std::strerror(errno));
    }
}

void Server::start() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd_ < 0 || stop_fd_ < 0) throw std::runtime_error(std::string("epoll/eventfd: ") + std::strerror(errno));
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        listener_open_ = true;
        running_threads_ = options_.threads;
    }
    arm(listener_.fd(), kListenerTag, EPOLL_CTL_ADD);
    arm(stop_fd_, kStopTag, EPOLL_CTL_ADD);
    for (unsigned i = 0; i < options_.threads; ++i) {
        threads_.create_thread([this] { thread_main(); });
    }
}

void Server::begin_stop() {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (stopping_ || epoll_fd_ < 0) return;
        stopping_ = true;
    }
    std::uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) != sizeof one) log_error("stop eventfd: ", std::strerror(errno));
}

bool Server::wait_stopped_until(std::chrono::steady_clock::time_point deadline, unsigned step) {
    {
        boost::unique_lock<boost::mutex> lock(mutex_);
        while (running_threads_ > 0) {
            if (step != 0 && skipped_through_ >= step) return false;
            auto now = std::chrono::steady_clock::now();
            if (now >= deadline) return false;
            auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
            threads_exited_.wait_for(lock, boost::chrono::microseconds(left.count()));
        }
    }
    // Every thread has left thread_main; joining them now means a process that exits
    // without running ~Server (because jobs still run) leaves no thread unjoined.
    threads_.join_all();
    return true;
}

void Server::interrupt_wait(unsigned through_step) {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (through_step > skipped_through_) skipped_through_ = through_step;
    }
    threads_exited_.notify_all();
}

ServerCounts Server::counts() const {
    ServerCounts c;
    c.served = counters_->served.load();
    c.active = counters_->active.load();
    c.handler_errors = counters_->handler_errors.load();
    c.bad_requests = counters_->bad_requests.load();
    boost::lock_guard<boost::mutex> lock(mutex_);
    c.connections = connections_.size();
    return c;
}

void Server::thread_main() {
    FCGX_Request request;
    FCGX_InitRequest(&request, -1, 0);
    FcgiInput input;
    for (;;) {
        epoll_event ev{};
        // While accepts are paused for want of fds, and no connection closes to resume
        // them, a timeout retries now and then.
        int n = epoll_wait(epoll_fd_, &ev, 1, wait_timeout_ms());
        if (n < 0) {
            if (errno == EINTR) continue;
            log_error("epoll_wait: ", std::strerror(errno), "; request thread exits");
            break;
        }
        if (n == 0) {
            boost::lock_guard<boost::mutex> lock(mutex_);
            resume_listener_locked();
            close_silent_connections_locked();
            continue;
        }
        if (ev.data.u64 == kStopTag) {
            if (on_stop_event()) break;
        } else if (ev.data.u64 == kListenerTag) {
            on_listener_ready(request, input);
        } else {
            on_connection_ready(ev.data.u64, request, input);
        }
    }
    boost::lock_guard<boost::mutex> lock(mutex_);
    --running_threads_;
    threads_exited_.notify_all();
}

void Server::on_listener_ready(FCGX_Request& request, FcgiInput& input) {
    std::uint64_t id;
    int fd;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (!listener_open_) return;
        fd = accept_one_locked();
        if (fd < 0) return;
        id = next_id_++;
        // Served here when its request is already waiting, as it nearly always is with a
        // web server in front: that spares a trip through epoll.
        const bool ready = peek(fd) == Peek::data;
        connections_.emplace(id, Connection{fd, ready, !ready, true});
        if (!ready) {
            arm(fd, id, EPOLL_CTL_ADD);
            return;
        }
    }
    serve(id, fd, request, input);
}

// accept4, retried past EINTR and aborted connections, closing peers that
// FCGI_WEB_SERVER_ADDRS refuses. Returns -1 with errno set when there is none to take.
int Server::accept_allowed_peer() {
    for (;;) {
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        int fd = accept4(listener_.fd(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return -1;
        }
        if (!listener_.is_tcp() || listener_.peer_allowed(peer)) return fd;
        log_warn("connection refused: peer not in FCGI_WEB_SERVER_ADDRS");
        ::close(fd);
    }
}

// Takes one connection and re-arms the listener at once, so that another idle thread
// takes the next one while this one is served. Returns -1 when there is none to take.
int Server::accept_one_locked() {
    for (;;) {
        int fd = accept_allowed_peer();
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                // Re-arming now would wake us again at once; wait for a free fd. Logged
                // once until an accept succeeds again: each retry would log a line.
                if (!accept_starved_) {
                    log_warn("accept: ", std::strerror(errno), "; pausing accepts until a connection closes");
                }
                accept_starved_ = true;
                listener_paused_ = true;
                return -1;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) log_warn("accept: ", std::strerror(errno));
            arm(listener_.fd(), kListenerTag, EPOLL_CTL_MOD);
            return -1;
        }
        arm(listener_.fd(), kListenerTag, EPOLL_CTL_MOD);
        if (accept_starved_) {
            accept_starved_ = false;
            log_info("accept: accepting connections again");
        }
        set_io_timeout(fd, options_.io_timeout);
        return fd;
    }
}

void Server::on_connection_ready(std::uint64_t id, FCGX_Request& request, FcgiInput& input) {
    int fd;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        auto it = connections_.find(id);
        if (it == connections_.end() || it->second.busy) return;  // closed by the stop
        it->second.busy = true;
        fd = it->second.fd;
    }
    if (peek(fd) == Peek::eof) {  // the web server closed a kept connection: nothing to log
        release_connection(id, false);
        return;
    }
    serve(id, fd, request, input);
}

// Serves the request waiting on a connection, and any that came right behind it: those
// are read already, so epoll would not report them.
void Server::serve(std::uint64_t id, int fd, FCGX_Request& request, FcgiInput& input) {
    input.bind(fd);
    Exchange result;
    do {
        result = exchange(request, input, handler_, options_.max_body, options_.io_timeout, *counters_);
    } while (result == Exchange::keep && input.buffered());
    after_request(id, fd, result);
}

// A kept connection goes back into the epoll set unless the server is stopping; any
// other is forgotten.
void Server::after_request(std::uint64_t id, int fd, Exchange result) {
    if (result == Exchange::keep) {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (!stopping_) {
            Connection& conn = connections_[id];
            conn.busy = false;
            conn.fresh = false;
            arm(fd, id, conn.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD);
            conn.registered = true;
            return;
        }
    }
    release_connection(id, result == Exchange::closed);
}

// Forgets a connection; closes it unless libfcgi already has.
void Server::release_connection(std::uint64_t id, bool closed_already) {
    boost::lock_guard<boost::mutex> lock(mutex_);
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    if (!closed_already) {
        if (it->second.registered) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
        ::close(it->second.fd);
    }
    connections_.erase(it);
    resume_listener_locked();
    pass_stop_baton_if_drained_locked();
}

void Server::resume_listener_locked() {
    if (!listener_paused_ || !listener_open_) return;
    listener_paused_ = false;
    arm(listener_.fd(), kListenerTag, EPOLL_CTL_MOD);
}

bool Server::on_stop_event() {
    boost::lock_guard<boost::mutex> lock(mutex_);
    if (!stop_work_done_) {
        stop_work_done_ = true;
        close_listener_locked();
        close_idle_connections_locked();
    }
    if (!connections_.empty()) return false;  // whoever closes the last one re-arms stop_fd_
    arm(stop_fd_, kStopTag, EPOLL_CTL_MOD);
    return true;
}

void Server::pass_stop_baton_if_drained_locked() {
    if (stop_work_done_ && connections_.empty()) arm(stop_fd_, kStopTag, EPOLL_CTL_MOD);
}

void Server::close_listener_locked() {
    if (!listener_open_) return;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listener_.fd(), nullptr);
    if (!listener_.inherited()) {
        // New connects now fail at once; the ones already queued are taken and served.
        listener_.remove_path();
        std::size_t taken = 0;
        for (;;) {
            int fd = accept_allowed_peer();
            if (fd < 0) break;
            set_io_timeout(fd, options_.io_timeout);
            std::uint64_t id = next_id_++;
            connections_.emplace(id, Connection{fd, false, true, true});
            arm(fd, id, EPOLL_CTL_ADD);
            ++taken;
        }
        if (taken > 0) log_info("stop: took ", taken, " queued connection(s) from the backlog");
    }
    listener_.close();
    listener_open_ = false;
}

// Closes a connection no thread is using and forgets it; returns the next one.
Server::Connections::iterator Server::close_unused_locked(Connections::iterator it) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
    ::close(it->second.fd);
    return connections_.erase(it);
}

void Server::close_idle_connections_locked() {
    std::size_t closed = 0;
    std::size_t awaited = 0;
    for (auto it = connections_.begin(); it != connections_.end();) {
        const Peek state = it->second.busy ? Peek::data : peek(it->second.fd);
        if (state == Peek::nothing && it->second.fresh) ++awaited;
        if (state == Peek::data || (state == Peek::nothing && it->second.fresh)) {
            ++it;
            continue;
        }
        it = close_unused_locked(it);
        ++closed;
    }
    if (closed > 0) log_debug("stop: closed ", closed, " idle kept connection(s)");
    if (awaited > 0) {
        log_info("stop: waiting up to ", options_.io_timeout.count(), " ms for the first request on ", awaited,
                 " connection(s)");
        first_request_deadline_ = std::chrono::steady_clock::now() + options_.io_timeout;
        awaiting_first_requests_ = true;
    }
}

// Once the stop has waited --io-timeout for their first request, connections that sent
// none are closed: a client that connects and stays silent cannot hold the stop longer.
void Server::close_silent_connections_locked() {
    if (!awaiting_first_requests_ || std::chrono::steady_clock::now() < first_request_deadline_) return;
    awaiting_first_requests_ = false;
    std::size_t closed = 0;
    for (auto it = connections_.begin(); it != connections_.end();) {
        if (it->second.busy || !it->second.fresh || peek(it->second.fd) == Peek::data) {
            ++it;
            continue;
        }
        it = close_unused_locked(it);
        ++closed;
    }
    if (closed > 0) log_info("stop: closed ", closed, " connection(s) that sent no request within --io-timeout");
    pass_stop_baton_if_drained_locked();
}

// How long a request thread may sleep in epoll_wait: for ever, unless accepts are paused
// for want of fds (retry now and then) or the stop awaits first requests (its deadline).
int Server::wait_timeout_ms() const {
    int timeout = listener_paused_ ? kPausedRetryMs : -1;
    if (!awaiting_first_requests_) return timeout;
    boost::lock_guard<boost::mutex> lock(mutex_);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(first_request_deadline_ -
                                                                      std::chrono::steady_clock::now());
    int until_deadline = static_cast<int>(std::max<long long>(0, left.count() + 1));
    return timeout < 0 ? until_deadline : std::min(timeout, until_deadline);
}

}  // namespace fcgihost
