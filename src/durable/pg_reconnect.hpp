// PgReconnect: the gate every new PostgreSQL connection of one store goes through, so that
// an outage costs capped exponential backoff instead of a connect attempt per call.
//
// While the server is unreachable, attempt() lets one connect through per backoff step
// (100 ms doubling to 5 s, +-25 % jitter so hosts do not reconnect in lockstep) and fails
// every other call at once with the last error: a request thread gets its store error in
// microseconds, never after a connect timeout per call. One log line when an outage begins,
// one when a connect succeeds again; none per attempt.
//
// A connection that stopped answering (lost()) begins an outage too, since each call would
// otherwise wait out its whole deadline. Such an outage also ends when one of the old
// connections answers again (answered()): after a freeze they do, and while the pool holds
// them no connect may be tried for a long time.
#pragma once

#include "durable/pg_connection.hpp"

#include <boost/thread/mutex.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace fcgihost {
namespace durable {

class PgReconnect {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::milliseconds kFirstDelay{100};
    static constexpr std::chrono::milliseconds kMaxDelay{5000};

    PgReconnect(const PgReconnect&) = delete;
    PgReconnect& operator=(const PgReconnect&) = delete;
    // `connect` opens one connection or throws StoreError; `shown` names the store in logs.
    PgReconnect(std::function<std::unique_ptr<PgConnection>()> connect, std::string shown,
                std::chrono::milliseconds first_delay = kFirstDelay, std::chrono::milliseconds max_delay = kMaxDelay);

    // A new connection, or StoreError: the connect's own, or the last one while backing off.
    std::unique_ptr<PgConnection> attempt();
    // A connection it handed out was closed after no answer came in time (`why`): as a failed
    // connect, the outage begins and the next connect waits the first backoff step. Changes
    // nothing while already backing off.
    void lost(const std::string& why);
    // A connection it handed out got an answer: an outage that lost() began is over.
    void answered();
    // How long until attempt() will try again (zero when it would try now).
    std::chrono::milliseconds retry_in() const;

private:
    void failed(const std::string& why, bool connect_failed);  // logs the outage if it begins
    void back(const char* how, bool only_if_silent);           // logs the outage's end, if one was on
    std::chrono::milliseconds next_delay_locked();

    const std::function<std::unique_ptr<PgConnection>()> connect_;
    const std::string shown_;
    const std::chrono::milliseconds first_delay_;
    const std::chrono::milliseconds max_delay_;
    mutable boost::mutex mutex_;
    bool down_ = false;                 // guarded by mutex_; the last attempt failed
    bool silent_ = false;               // guarded by mutex_; this outage began with lost()
    Clock::time_point down_since_;      // guarded by mutex_
    Clock::time_point next_attempt_;    // guarded by mutex_; no connect before this while down_
    std::chrono::milliseconds delay_{0};  // guarded by mutex_; the last backoff step
    std::string last_error_;            // guarded by mutex_
};

}  // namespace durable
}  // namespace fcgihost
