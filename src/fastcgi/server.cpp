// DESIGN
// Threads. N request threads share one epoll set. Every member of the set is one-shot,
// so an event goes to exactly one thread, which re-arms the fd when it is done with it:
//   tag 0  the listener: the thread accepts one connection (Acceptor, acceptor.hpp, with
//          no lock held), re-arms the listener (so the next idle thread takes the next
//          one), reads what the connection already holds and serves it at once if its
//          request is whole, else registers it;
//   tag 1  stop_fd_, an eventfd written once by begin_stop() and never read;
//   tag 2+ a connection: the thread reads what it holds, without blocking, into the
//          connection's RequestAssembler (request_assembler.hpp), sends what that owes
//          the web server (management answers, FCGI_END_REQUEST for an abort or a role
//          refused), serves each request that is whole with libfcgi (exchange(), reading
//          from memory: fcgi_input.hpp), then re-arms the connection or closes it.
// No thread ever blocks reading a socket: a connection whose request is still on its way
// waits in the epoll set, not in a thread. Its request has a deadline instead, set from
// the first record after the connection was idle, cleared when a request is served (or
// aborted, or refused for its role): --io-timeout for a whole request, however its bytes
// trickle in. deadlines_ holds them in order; every thread's epoll_wait times out at the
// nearest one, and whoever wakes first closes what has expired (wait_timeout_ms). An idle
// connection (nothing pending, no request open) has no deadline and no buffer.
// Writes block, bounded by SO_SNDTIMEO (--io-timeout per write).
// Stop. begin_stop() marks the server stopping, removes a created socket's path at once
// (even while every request thread is busy), stops the acceptor (no thread is left in
// accept4) and makes stop_fd_ readable. The first thread to get that event accepts what is
// already queued on a created socket (those clients are served, not reset; an inherited
// socket's backlog waits for the next process), closes the listener, and reads what every
// idle connection holds before it decides: one with bytes is handed to a thread
// (an EPOLLOUT wake, since epoll will not report bytes already read), one at end of file
// or with nothing is closed. A connection that has not sent its first request yet is not
// idle: its request may be on its way (a client that reached the backlog before the stop
// writes right after its connect), so it gets --io-timeout to send it, like any request
// on its way. When nothing is left the thread re-arms stop_fd_ before it exits, which
// wakes the next idle thread, and so on: a relay that reaches every thread without any of
// them spinning on a readable fd. Whoever closes the last connection re-arms it too.
// Log lines are written after mutex_ is released: a stalled stderr must not stall every
// thread that wants the mutex.
#include "fastcgi/server.hpp"

#include "base/steady_wait.hpp"
#include "fastcgi/acceptor.hpp"
#include "fastcgi/fcgi_exchange.hpp"
#include "fastcgi/request_assembler.hpp"
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
#include <string>

namespace fcgihost {
namespace {

constexpr std::uint64_t kListenerTag = 0;
constexpr std::uint64_t kStopTag = 1;

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
      acceptor_(std::make_unique<Acceptor>(listener)),
      counters_(std::make_unique<ExchangeCounters>()) {}

Server::~Server() {
    begin_stop();
    threads_.join_all();
    for (auto& entry : connections_) ::close(entry.second.fd);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (stop_fd_ >= 0) ::close(stop_fd_);
}

void Server::arm(int fd, std::uint64_t tag, int op, std::uint32_t extra_events) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT | extra_events;
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
    // New connects fail from now on, and nginx tries its next upstream; what is already
    // queued is still taken (close_listener).
    listener_.remove_path();
    acceptor_->stop();
    std::uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) != sizeof one) log_error("stop eventfd: ", std::strerror(errno));
}

bool Server::wait_stopped_until(std::chrono::steady_clock::time_point deadline, unsigned step) {
    {
        boost::unique_lock<boost::mutex> lock(mutex_);
        while (running_threads_ > 0) {
            if (step != 0 && skipped_through_ >= step) return false;
            if (std::chrono::steady_clock::now() >= deadline) return false;
            detail::wait_until(threads_exited_, lock, deadline);
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
    Acceptor::prepare_thread();
    FCGX_Request request;
    FCGX_InitRequest(&request, -1, 0);
    for (;;) {
        epoll_event ev{};
        // While accepts are paused for want of fds, and no connection closes to resume
        // them, a timeout retries now and then; requests on their way have deadlines.
        int n = epoll_wait(epoll_fd_, &ev, 1, wait_timeout_ms());
        if (n < 0) {
            if (errno == EINTR) continue;
            log_error("epoll_wait: ", std::strerror(errno), "; request thread exits");
            break;
        }
        if (n == 0) {
            boost::lock_guard<boost::mutex> lock(mutex_);
            resume_listener_locked();
            continue;
        }
        if (ev.data.u64 == kStopTag) {
            if (on_stop_event()) break;
        } else if (ev.data.u64 == kListenerTag) {
            on_listener_ready(request);
        } else {
            on_connection_ready(ev.data.u64, request);
        }
    }
    boost::lock_guard<boost::mutex> lock(mutex_);
    --running_threads_;
    threads_exited_.notify_all();
}

void Server::on_listener_ready(FCGX_Request& request) {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (!listener_open_) return;
        ++accepting_;
    }
    const Acceptor::Accepted accepted = acceptor_->accept_one();
    const int fd = accepted.fd;
    if (fd >= 0) set_io_timeout(fd, options_.io_timeout);
    std::uint64_t id;
    RequestAssembler* input;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (--accepting_ == 0) accepts_done_.notify_all();
        if (accepted.outcome == Acceptor::Outcome::starved) {
            listener_paused_ = true;  // re-armed now, it would wake us again at once
        } else if (accepted.outcome != Acceptor::Outcome::stopped) {
            arm(listener_.fd(), kListenerTag, EPOLL_CTL_MOD);  // the next idle thread takes the next one
        }
        if (fd < 0) return;
        id = next_id_++;
        // Read at once rather than after a trip through epoll: with a web server in front,
        // the request is nearly always there already.
        auto added = connections_.emplace(id, Connection::served_now(fd, new_input()));
        input = added.first->second.input.get();
    }
    serve(id, fd, *input, request);
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
    deadlines_.erase({it->second.deadline, id});
    connections_.erase(it);
    resume_listener_locked();
    pass_stop_baton_if_drained_locked();
}

void Server::resume_listener_locked() {
    if (!listener_paused_ || !listener_open_) return;
    listener_paused_ = false;
    arm(listener_.fd(), kListenerTag, EPOLL_CTL_MOD);
}

// Only the thread holding the stop event gets here until stop_fd_ is re-armed, which
// needs stop_work_done_: the stop work is done once.
bool Server::on_stop_event() {
    bool first;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        first = !stop_work_done_;
    }
    std::vector<int> queued;
    if (first) queued = close_listener();  // waits for accepts under way: not under mutex_
    StopClosures done;
    bool exits = false;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (first) {
            for (int fd : queued) {
                std::uint64_t id = next_id_++;
                connections_.emplace(id, Connection::waiting_in_epoll(fd, new_input()));
                arm(fd, id, EPOLL_CTL_ADD);
            }
            stop_work_done_ = true;
            done = close_idle_connections_locked();
        }
        if (connections_.empty()) {  // else whoever closes the last one re-arms stop_fd_
            arm(stop_fd_, kStopTag, EPOLL_CTL_MOD);
            exits = true;
        }
    }
    if (done.closed > 0) log_debug("stop: closed ", done.closed, " idle kept connection(s)");
    if (done.awaited > 0) {
        log_info("stop: waiting up to ", options_.io_timeout.count(), " ms for the first request on ", done.awaited,
                 " connection(s)");
    }
    return exits;
}

void Server::pass_stop_baton_if_drained_locked() {
    if (stop_work_done_ && connections_.empty()) arm(stop_fd_, kStopTag, EPOLL_CTL_MOD);
}

// Takes a created socket's backlog (connections that reached it before the stop) and
// closes the listener; returns the connections taken.
std::vector<int> Server::close_listener() {
    {
        boost::unique_lock<boost::mutex> lock(mutex_);
        // The acceptor is stopped (begin_stop): threads still counted only have to register
        // what they took, and must find the listener in the epoll set when they re-arm it.
        while (accepting_ > 0) accepts_done_.wait(lock);
        if (!listener_open_) return {};
        listener_open_ = false;
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listener_.fd(), nullptr);
    }
    std::vector<int> queued = acceptor_->take_backlog();
    for (int fd : queued) set_io_timeout(fd, options_.io_timeout);
    if (!queued.empty()) log_info("stop: took ", queued.size(), " queued connection(s) from the backlog");
    listener_.close();
    return queued;
}

}  // namespace fcgihost
