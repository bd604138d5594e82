// Server: the request threads. Each owns one FCGX_Request; all of them wait on one epoll
// set that holds the listener, every connection not being served and a stop eventfd, so
//  - any free thread serves the next request from any connection (an idle kept-alive
//    connection from nginx occupies no thread, nor does one whose request is still on its
//    way: a thread only runs a request once all of it has arrived), and
//  - a stop wakes threads that are idle, which a thread blocked in accept() never is.
// See server.cpp for the stop sequence.
#pragma once

#include "fcgihost/counts.hpp"
#include "fastcgi/listener.hpp"
#include "fcgihost/router.hpp"

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/mutex.hpp>
#include <boost/thread/thread.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

struct FCGX_Request;

namespace fcgihost {

class Acceptor;
struct ExchangeCounters;
class RequestAssembler;

struct ServerOptions {
    unsigned threads = 4;
    std::size_t max_body = 1024 * 1024;
    std::chrono::milliseconds io_timeout{30000};
};

class Server {
public:
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // The listener must outlive the server. `handler` answers every request; it is called
    // from several threads at once. FCGX_Init() must have been called.
    Server(Listener& listener, Handler handler, ServerOptions options);
    // Stops (if needed) and joins the threads; call only once they can finish.
    ~Server();

    void start();  // throws std::runtime_error if epoll or eventfd cannot be set up

    // Stops taking connections and finishes what is in flight. Idempotent, any thread.
    // Before it returns, a created socket's path is gone and no thread is in accept().
    void begin_stop();
    // True once every request thread has exited (after begin_stop); they are joined then.
    // Wakes as soon as they have. `step` is the drain step the wait belongs to (see
    // JobQueue::wait_idle_until): once interrupt_wait() has recorded a skip through it, the
    // wait returns false, whether the skip came before the wait or during it. Step 0: no
    // skip ends the wait. One caller at a time.
    bool wait_stopped_until(std::chrono::steady_clock::time_point deadline, unsigned step = 0);
    // Records that drain steps up to `through_step` are skipped (a Ctrl-C); never goes back.
    void interrupt_wait(unsigned through_step);

    ServerCounts counts() const;

private:
    using Clock = std::chrono::steady_clock;
    struct Connection {
        int fd = -1;
        bool busy = false;        // a thread is reading or writing it
        bool registered = false;  // in the epoll set (a connection served at once never was)
        bool fresh = true;        // no request served on it yet: at the stop it is not idle
        std::unique_ptr<RequestAssembler> input;  // used by the busy thread, else under mutex_
        Clock::time_point deadline = Clock::time_point::max();  // for its request; max(): none

        // Just accepted, and read at once by the thread that accepted it.
        static Connection served_now(int fd, std::unique_ptr<RequestAssembler> input);
        // Accepted from the backlog at the stop, and left in the epoll set for any thread.
        static Connection waiting_in_epoll(int fd, std::unique_ptr<RequestAssembler> input);
    };
    using Connections = std::unordered_map<std::uint64_t, Connection>;
    struct StopClosures {  // what the stop's first pass did, for its log lines
        std::size_t closed = 0;
        std::size_t awaited = 0;
    };

    void thread_main();
    void on_listener_ready(FCGX_Request& request);
    void on_connection_ready(std::uint64_t id, FCGX_Request& request);
    void serve(std::uint64_t id, int fd, RequestAssembler& input, FCGX_Request& request);
    bool send_answers(int fd, RequestAssembler& input);
    std::unique_ptr<RequestAssembler> new_input() const;
    void rearm(std::uint64_t id, int fd, RequestAssembler& input, bool served);
    bool on_stop_event();  // true: this thread exits
    std::vector<int> close_listener();
    StopClosures close_idle_connections_locked();
    Connections::iterator close_unused_locked(Connections::iterator it);
    void set_deadline_locked(std::uint64_t id, Connection& conn, Clock::time_point deadline);
    int wait_timeout_ms();  // also closes the connections whose deadline has passed
    void release_connection(std::uint64_t id, bool closed_already);
    void pass_stop_baton_if_drained_locked();
    void resume_listener_locked();
    void arm(int fd, std::uint64_t tag, int op, std::uint32_t extra_events = 0);

    Listener& listener_;
    const Handler handler_;
    const ServerOptions options_;
    int epoll_fd_ = -1;
    int stop_fd_ = -1;  // eventfd; readable from begin_stop() on
    std::unique_ptr<Acceptor> acceptor_;  // takes connections without mutex_ held
    boost::thread_group threads_;

    mutable boost::mutex mutex_;
    boost::condition_variable threads_exited_;
    bool listener_open_ = false;      // guarded by mutex_
    bool stopping_ = false;           // guarded by mutex_
    std::atomic<bool> listener_paused_{false};  // written under mutex_; read without it
    unsigned accepting_ = 0;          // guarded by mutex_; threads between deciding to accept and
                                      // registering what they took
    boost::condition_variable accepts_done_;  // accepting_ fell to 0
    bool stop_work_done_ = false;     // guarded by mutex_
    unsigned running_threads_ = 0;    // guarded by mutex_
    unsigned skipped_through_ = 0;    // guarded by mutex_; drain steps a Ctrl-C skipped
    std::uint64_t next_id_ = 2;       // guarded by mutex_; 0 and 1 tag the listener and stop_fd_
    Connections connections_;         // guarded by mutex_
    // Connections not being served whose request has a deadline, nearest first; the
    // request threads' epoll_wait timeout is the nearest one. Guarded by mutex_.
    std::set<std::pair<Clock::time_point, std::uint64_t>> deadlines_;

    std::unique_ptr<ExchangeCounters> counters_;  // atomics; shared by the request threads
};

}  // namespace fcgihost
