// Server, the connection side: reading what a connection holds into its RequestAssembler,
// serving the requests that are whole, giving the connection back to epoll with the
// deadline of the request on its way, and closing what that deadline or the stop leaves.
// The threads, the listener and the stop sequence are in server.cpp, whose DESIGN comment
// covers both files.
#include "fastcgi/server.hpp"

#include "fastcgi/fcgi_exchange.hpp"
#include "fcgihost/log.hpp"
#include "fastcgi/request_assembler.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

namespace fcgihost {

Server::Connection Server::Connection::served_now(int fd, std::unique_ptr<RequestAssembler> input) {
    Connection c;
    c.fd = fd;
    c.busy = true;
    c.input = std::move(input);
    return c;
}

Server::Connection Server::Connection::waiting_in_epoll(int fd, std::unique_ptr<RequestAssembler> input) {
    Connection c;
    c.fd = fd;
    c.registered = true;
    c.input = std::move(input);
    return c;
}
namespace {

constexpr int kPausedRetryMs = 250;

}  // namespace

void Server::on_connection_ready(std::uint64_t id, FCGX_Request& request) {
    int fd;
    RequestAssembler* input;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        auto it = connections_.find(id);
        if (it == connections_.end() || it->second.busy) return;  // closed by the stop or a deadline
        it->second.busy = true;
        deadlines_.erase({it->second.deadline, id});  // kept in the connection: rearm() decides
        fd = it->second.fd;
        input = it->second.input.get();
    }
    serve(id, fd, *input, request);
}

std::unique_ptr<RequestAssembler> Server::new_input() const {
    return std::make_unique<RequestAssembler>(AssemblerLimits{kMaxParamsBytes, options_.max_body, options_.threads});
}

// Reads what the connection holds, answers what it owes, serves every request that is
// whole (those read already behind another included: epoll would not report them), and
// gives the connection back to epoll or closes it. The caller has marked it busy.
void Server::serve(std::uint64_t id, int fd, RequestAssembler& input, FCGX_Request& request) {
    using State = RequestAssembler::State;
    using Input = RequestAssembler::Input;
    bool served = false;
    for (;;) {
        const Input got = input.read_from(fd);
        const int read_error = errno;
        if (!send_answers(fd, input)) return release_connection(id, false);
        const State state = input.state();
        if (state == State::complete) {
            const Exchange result = exchange(request, fd, input.records(), handler_, options_.max_body,
                                             options_.io_timeout, *counters_);
            if (result != Exchange::keep_open) return release_connection(id, result == Exchange::closed_already);
            served = true;
            input.next();
            continue;
        }
        if (state == State::refused) {
            log_warn("closed a connection: malformed FastCGI input (", input.refusal(), ")");
            return release_connection(id, false);
        }
        if (state == State::finished) return release_connection(id, false);
        // Back to epoll also when it has read its share: a peer that never stops sending
        // takes turns with the others, and its deadline is checked.
        if (got == Input::would_block || got == Input::yielded) return rearm(id, fd, input, served);
        if (got == Input::end || got == Input::failed) {
            if (input.mid_request()) {
                log_warn("closed a connection: ",
                         got == Input::end ? std::string("the web server closed it") : std::strerror(read_error),
                         " before its request was complete (", input.stage(), ")");
            }
            return release_connection(id, false);
        }
        // Input::stopped with the assembler reading again: its answers went out, read on.
    }
}

// Sends the records the assembler owes the web server, blocking up to SO_SNDTIMEO.
bool Server::send_answers(int fd, RequestAssembler& input) {
    std::string& answers = input.answers();
    std::size_t sent = 0;
    while (sent < answers.size()) {
        const ssize_t n = ::send(fd, answers.data() + sent, answers.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = n < 0 ? errno : EPIPE;
            const std::string why = (error == EAGAIN || error == EWOULDBLOCK) ? "no progress within --io-timeout"
                                                                              : std::strerror(error);
            if (error == EPIPE || error == ECONNRESET) {
                log_debug("closed a connection: the web server went away before its answers (", why, ")");
            } else {
                log_warn("closed a connection: sending it answers failed (", why, ")");
            }
            return false;
        }
        sent += static_cast<std::size_t>(n);
    }
    answers.clear();
    return true;
}

// Gives a connection whose socket has nothing more for now back to epoll, with the
// deadline of the request on its way if one is; at the stop, an idle kept one is closed.
void Server::rearm(std::uint64_t id, int fd, RequestAssembler& input, bool served) {
    const bool ended = input.take_ended() || served;
    const bool idle = input.idle();
    if (idle) input.release_memory();
    const auto now = Clock::now();
    std::string expired_stage;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        auto it = connections_.find(id);
        Connection& conn = it->second;
        if (served) conn.fresh = false;
        Clock::time_point deadline = (ended || idle) ? Clock::time_point::max() : conn.deadline;
        if (!idle && deadline == Clock::time_point::max()) deadline = now + options_.io_timeout;
        // At the stop a fresh connection gets --io-timeout for its first request, and a
        // kept one that is idle is done.
        if (stopping_ && idle && conn.fresh && deadline == Clock::time_point::max()) {
            deadline = now + options_.io_timeout;
        }
        if (stopping_ && idle && !conn.fresh) {
            close_unused_locked(it);
            resume_listener_locked();
            pass_stop_baton_if_drained_locked();
            return;
        }
        if (deadline <= now) {
            expired_stage = input.stage();
            close_unused_locked(it);
            resume_listener_locked();
            pass_stop_baton_if_drained_locked();
        } else {
            conn.busy = false;
            set_deadline_locked(id, conn, deadline);
            arm(fd, id, conn.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD);
            conn.registered = true;
        }
    }
    if (!expired_stage.empty()) {
        log_warn("closed a connection: no complete request within --io-timeout (", expired_stage, ")");
    }
}

// Closes a connection no thread is using and forgets it; returns the next one.
Server::Connections::iterator Server::close_unused_locked(Connections::iterator it) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
    ::close(it->second.fd);
    deadlines_.erase({it->second.deadline, it->first});
    return connections_.erase(it);
}

void Server::set_deadline_locked(std::uint64_t id, Connection& conn, Clock::time_point deadline) {
    deadlines_.erase({conn.deadline, id});
    conn.deadline = deadline;
    if (deadline != Clock::time_point::max()) deadlines_.emplace(deadline, id);
}

// The stop's first pass over connections no thread is using. One with a request on its
// way keeps its deadline. An idle one is read first (without blocking): what came is
// handed to a thread; at end of file, or with nothing on a connection that has served a
// request, it is closed; a fresh one with nothing gets --io-timeout for its first request.
Server::StopClosures Server::close_idle_connections_locked() {
    StopClosures done;
    const auto first_request_deadline = Clock::now() + options_.io_timeout;
    for (auto it = connections_.begin(); it != connections_.end();) {
        Connection& conn = it->second;
        if (conn.busy || !conn.input->idle()) {
            ++it;
            continue;
        }
        const RequestAssembler::Input got = conn.input->read_from(conn.fd);
        if (!conn.input->idle() || !conn.input->answers().empty()) {
            // Its bytes are read already, so epoll will not report them; it is writable,
            // so EPOLLOUT wakes a thread for it at once.
            arm(conn.fd, it->first, EPOLL_CTL_MOD, EPOLLOUT);
            ++it;
            continue;
        }
        if (got == RequestAssembler::Input::would_block && conn.fresh) {
            set_deadline_locked(it->first, conn, first_request_deadline);
            ++done.awaited;
            ++it;
            continue;
        }
        it = close_unused_locked(it);
        ++done.closed;
    }
    if (done.closed > 0) resume_listener_locked();
    return done;
}

// How long a request thread may sleep in epoll_wait: until the nearest deadline of a
// request on its way, or a while when accepts are paused for want of fds (retry now and
// then), else for ever. First it closes the connections whose deadline has passed.
int Server::wait_timeout_ms() {
    std::vector<std::string> expired;  // the stage each one's request had reached
    std::size_t silent = 0;            // fresh ones the stop waited for in vain
    int timeout = -1;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        const auto now = Clock::now();
        while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
            auto it = connections_.find(deadlines_.begin()->second);
            deadlines_.erase(deadlines_.begin());
            if (it == connections_.end() || it->second.busy) continue;
            if (it->second.fresh && it->second.input->idle()) {
                ++silent;
            } else {
                expired.push_back(it->second.input->stage());
            }
            close_unused_locked(it);
        }
        if (silent > 0 || !expired.empty()) {
            resume_listener_locked();
            pass_stop_baton_if_drained_locked();
        }
        if (listener_paused_) timeout = kPausedRetryMs;
        if (!deadlines_.empty()) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadlines_.begin()->first - now).count();
            const int until = static_cast<int>(std::min<long long>(left, INT_MAX));
            timeout = timeout < 0 ? until : std::min(timeout, until);
        }
    }
    for (const std::string& stage : expired) {
        log_warn("closed a connection: no complete request within --io-timeout (", stage, ")");
    }
    if (silent > 0) log_info("stop: closed ", silent, " connection(s) that sent no request within --io-timeout");
    return timeout;
}

}  // namespace fcgihost
