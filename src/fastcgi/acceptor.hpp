// Acceptor: takes connections off the listening socket for the request threads.
//
// It holds no lock of the server's, and none of its own across accept4(): a thread in
// accept4() holds up nobody else. On a socket this process created (non-blocking) accept4()
// never waits. An inherited socket may be blocking, since its O_NONBLOCK belongs to whoever
// else holds it and is not ours to change: when another process takes the connection epoll
// announced, accept4() waits for the next one, as in a plain libfcgi responder. stop() gets
// such a thread out with a wake signal (SIGRTMIN, a no-op handler installed without
// SA_RESTART, so accept4 fails with EINTR), sent again at each short timed wait until the
// thread reports that it left: a signal that lands between the registration and the call
// to accept4() would be lost otherwise.
//
// Peers that FCGI_WEB_SERVER_ADDRS refuses are closed here. Running out of fds is reported
// (and logged once until an accept succeeds again) so the caller can pause the listener.
#pragma once

#include "fastcgi/listener.hpp"

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/mutex.hpp>

#include <pthread.h>

#include <atomic>
#include <vector>

namespace fcgihost {

class Acceptor {
public:
    Acceptor(const Acceptor&) = delete;
    Acceptor& operator=(const Acceptor&) = delete;

    // The listener must outlive the acceptor and stay open until stop() has returned.
    // Installs the wake signal's handler (once per process) for an inherited listener.
    explicit Acceptor(Listener& listener);

    enum class Outcome {
        connection,    // fd is a new connection (close-on-exec), the caller's to close
        none_pending,  // nothing to serve now (none queued, or a refused peer): wait for epoll
        starved,       // out of fds: pause until one is freed
        stopped,       // stop() was called: accept nothing more
    };
    struct Accepted {
        Outcome outcome;
        int fd;  // -1 unless outcome is connection
    };

    // One accept4(). Call without any lock held; any number of threads at once. May block
    // only on a blocking inherited listener, and only until stop().
    Accepted accept_one();

    // From now on accept_one() returns stopped; on return no thread is inside accept4()
    // (a connection one of them took before is still returned to it). Idempotent, any
    // thread; must not be called from a thread inside accept_one().
    void stop();

    // After stop(): the connections already queued on a socket this process created, each
    // from an allowed peer; none for an inherited socket, whose backlog waits for the next
    // process.
    std::vector<int> take_backlog();

    // Unblocks the wake signal in the calling thread: call it in every thread that will
    // call accept_one().
    static void prepare_thread();

private:
    // accept4 once; closes a refused peer (returns -1 with refused set then).
    int accept_allowed(bool& refused);

    Listener& listener_;
    boost::mutex mutex_;
    boost::condition_variable left_accept_;  // a thread left accept4
    bool stopped_ = false;                   // guarded by mutex_
    std::vector<pthread_t> in_accept_;       // guarded by mutex_; threads inside accept4
    std::atomic<bool> starved_{false};       // out of fds since the last accept (logged once)
};

}  // namespace fcgihost
