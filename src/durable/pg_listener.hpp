// PgListener: the wake-ups of one PgJobStore, heard on a dedicated connection.
//
// DESIGN
// One thread owns one connection (through the store's PgReconnect, so an outage backs off
// like every other connection) that runs LISTEN and then sleeps in poll(2) on its socket
// and on a stop pipe: no busy waiting, no timer. On readiness it reads what arrived
// (PQconsumeInput, PQnotifies) and calls wake() once for however many notifications came.
//
// LISTEN can succeed and still hear nothing: behind a transaction-mode pooler (PgBouncer)
// the session that ran LISTEN is handed to other clients, and notifications go to whoever
// holds it. So after every (re)connect the listener proves the path: it sends a NOTIFY
// with a token of its own through another connection and waits up to probe_wait for it.
// If the token does not come back, it logs one line, closes the connection and leaves the
// caller to its polling for the rest of the process's life. A dropped connection is
// reconnected with backoff; after each connect wake() runs once, since jobs enqueued
// while nobody listened were announced to no one.
//
// Every step is bounded, so the destructor's join is too: a connect by connect_timeout,
// LISTEN and the probe's NOTIFY by the call deadline, the probe by probe_wait; the sleep
// on the socket ends on the stop pipe. A server that stops answering leaves the thread
// asleep there, which costs nothing: the caller's polling goes on (and fails) meanwhile.
#pragma once

#include "durable/pg_reconnect.hpp"

#include <boost/thread/thread.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace fcgihost {
namespace durable {

struct PgListenerOptions {
    std::string channel;        // where enqueues notify
    std::string probe_channel;  // where the probe is sent; a different one only in tests
    std::chrono::milliseconds probe_wait{2000};
    std::chrono::milliseconds poll_interval{200};  // the caller's polling, for the log line
};

class PgListener {
public:
    PgListener(const PgListener&) = delete;
    PgListener& operator=(const PgListener&) = delete;

    // Starts the thread. `notify(channel, payload)` sends one NOTIFY through a connection
    // other than the listener's (throws StoreError); `wake` is called from the thread.
    PgListener(PgReconnect& reconnect, std::function<void(const std::string&, const std::string&)> notify,
               std::function<void()> wake, PgListenerOptions options);
    // Stops and joins the thread: no wake() runs once it returns.
    ~PgListener();

private:
    enum class Ready { input, timeout, stop };
    enum class Probe { arrived, missing, lost, stop };

    void main();
    bool listen_until_lost(PgConnection& c);  // false once stopped
    Probe probe(PgConnection& c);
    Ready wait(PgConnection* c, std::chrono::milliseconds limit);  // limit < 0: no limit

    PgReconnect& reconnect_;
    const std::function<void(const std::string&, const std::string&)> notify_;
    const std::function<void()> wake_;
    const PgListenerOptions options_;
    int stop_pipe_[2] = {-1, -1};  // written once by the destructor; read end polled by the thread
    boost::thread thread_;
};

}  // namespace durable
}  // namespace fcgihost
