#include "durable/pg_reconnect.hpp"

#include "durable/job_store.hpp"
#include "fcgihost/log.hpp"

#include <boost/thread/lock_guard.hpp>

#include <algorithm>
#include <random>

namespace fcgihost {
namespace durable {

namespace {

long long ms_between(PgReconnect::Clock::time_point from, PgReconnect::Clock::time_point to) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

}  // namespace

PgReconnect::PgReconnect(std::function<std::unique_ptr<PgConnection>()> connect, std::string shown,
                         std::chrono::milliseconds first_delay, std::chrono::milliseconds max_delay)
    : connect_(std::move(connect)), shown_(std::move(shown)), first_delay_(first_delay), max_delay_(max_delay) {}

std::unique_ptr<PgConnection> PgReconnect::attempt() {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        const Clock::time_point now = Clock::now();
        if (down_ && now < next_attempt_) {
            throw StoreError(last_error_ + " (next attempt in " + std::to_string(ms_between(now, next_attempt_)) +
                             " ms)");
        }
        // While this attempt runs (up to the connect timeout) the others fail fast.
        if (down_) next_attempt_ = now + max_delay_;
    }
    std::unique_ptr<PgConnection> c;
    try {
        c = connect_();
    } catch (const StoreError& e) {
        failed(e.what(), true);
        throw;
    }
    back("connected", false);
    return c;
}

void PgReconnect::answered() { back("answering", true); }

void PgReconnect::back(const char* how, bool only_if_silent) {
    long long outage_ms = -1;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        // A server that refuses new sessions (too many clients, a password changed) still
        // answers on the old ones: that ends no outage, or each answer would log one end.
        if (only_if_silent && !silent_) return;
        if (down_) outage_ms = ms_between(down_since_, Clock::now());
        down_ = false;
        silent_ = false;
    }
    if (outage_ms >= 0) log_info("job store ", shown_, ": ", how, " again after ", outage_ms, " ms");
}

void PgReconnect::lost(const std::string& why) { failed("job store " + shown_ + ": " + why, false); }

void PgReconnect::failed(const std::string& why, bool connect_failed) {
    bool outage_begins = false;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        // Already backing off: a connection lost meanwhile (one leased before the outage) is
        // old news, and must not cut short the step, or the wait for a connect in flight.
        if (down_ && !connect_failed) return;
        outage_begins = !down_;
        if (outage_begins) {
            down_ = true;
            silent_ = !connect_failed;
            down_since_ = Clock::now();
            delay_ = std::chrono::milliseconds(0);
        }
        last_error_ = why;
        next_attempt_ = Clock::now() + next_delay_locked();
    }
    if (outage_begins) {
        log_warn(why, "; reconnecting with backoff (", first_delay_.count(), " ms doubling to ", max_delay_.count(),
                 " ms)");
    }
}

std::chrono::milliseconds PgReconnect::retry_in() const {
    boost::lock_guard<boost::mutex> lock(mutex_);
    const Clock::time_point now = Clock::now();
    if (!down_ || now >= next_attempt_) return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(ms_between(now, next_attempt_) + 1);
}

std::chrono::milliseconds PgReconnect::next_delay_locked() {
    thread_local std::minstd_rand random{std::random_device{}()};
    delay_ = delay_.count() == 0 ? first_delay_ : std::min(delay_ * 2, max_delay_);
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(delay_.count()) * jitter(random)));
}

}  // namespace durable
}  // namespace fcgihost
