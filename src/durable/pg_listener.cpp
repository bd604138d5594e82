#include "durable/pg_listener.hpp"

#include "durable/job_store.hpp"
#include "fcgihost/log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <stdexcept>

namespace fcgihost {
namespace durable {
namespace {

using Clock = std::chrono::steady_clock;

// At least this long between reconnects, even when the gate would allow one at once.
constexpr std::chrono::milliseconds kMinReconnectWait{50};

std::string probe_token() {
    std::random_device random;
    return "probe " + std::to_string(getpid()) + " " + std::to_string(random()) + std::to_string(random());
}

}  // namespace

PgListener::PgListener(PgReconnect& reconnect, std::function<void(const std::string&, const std::string&)> notify,
                       std::function<void()> wake, PgListenerOptions options)
    : reconnect_(reconnect), notify_(std::move(notify)), wake_(std::move(wake)), options_(std::move(options)) {
    if (pipe2(stop_pipe_, O_CLOEXEC) != 0) throw StoreError("wake-ups: cannot create a pipe");
    try {
        thread_ = boost::thread([this] {
            try {
                main();
            } catch (const std::exception& e) {  // never past the thread: polling carries on alone
                log_error("durable jobs: wake-ups stopped: ", e.what());
            }
        });
    } catch (...) {
        close(stop_pipe_[0]);
        close(stop_pipe_[1]);
        throw;
    }
}

PgListener::~PgListener() {
    const char byte = 1;
    while (write(stop_pipe_[1], &byte, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
}

PgListener::Ready PgListener::wait(PgConnection* c, std::chrono::milliseconds limit) {
    pollfd fds[2] = {{stop_pipe_[0], POLLIN, 0}, {c ? PQsocket(c->raw()) : -1, POLLIN, 0}};
    const Clock::time_point until = Clock::now() + limit;
    for (;;) {
        int timeout = -1;
        if (limit.count() >= 0) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
            timeout = left > 0 ? static_cast<int>(left) : 0;
        }
        const int n = poll(fds, c ? 2 : 1, timeout);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || fds[0].revents != 0) return Ready::stop;  // a failing poll cannot wait: treat it as stop
        if (n == 0) return Ready::timeout;
        return Ready::input;
    }
}

void PgListener::main() {
    bool fell_back = false;
    bool said_listening = false;
    for (;;) {
        std::unique_ptr<PgConnection> c;
        try {
            c = reconnect_.attempt();
            c->exec("LISTEN \"" + options_.channel + "\"");
        } catch (const std::exception&) {
            // A LISTEN that got no answer is an outage like a failed connect.
            if (c && !c->abandoned().empty()) reconnect_.lost(c->abandoned());
            // The gate logged the outage; wait for its next step (or a stop) and try again.
            std::chrono::milliseconds in = reconnect_.retry_in();
            if (wait(nullptr, in < kMinReconnectWait ? kMinReconnectWait : in) == Ready::stop) return;
            continue;
        }
        wake_();  // jobs enqueued while nobody listened were announced to no one
        const Probe p = probe(*c);
        if (p == Probe::stop) return;
        if (p == Probe::lost) continue;
        if (p == Probe::missing) {
            fell_back = true;
            break;
        }
        if (!said_listening) {
            log_info("durable jobs: wake-ups by LISTEN ", options_.channel, " (and a poll every ",
                     options_.poll_interval.count(), " ms)");
            said_listening = true;
        }
        if (!listen_until_lost(*c)) return;
    }
    if (fell_back) {
        log_warn("durable jobs: LISTEN ", options_.channel, " hears nothing (its own NOTIFY did not come back within ",
                 options_.probe_wait.count(), " ms; a transaction-mode pooler?): wake-ups fall back to polling every ",
                 options_.poll_interval.count(), " ms");
        wait(nullptr, std::chrono::milliseconds(-1));
    }
}

bool PgListener::listen_until_lost(PgConnection& c) {
    for (;;) {
        if (wait(&c, std::chrono::milliseconds(-1)) == Ready::stop) return false;
        if (!PQconsumeInput(c.raw())) return true;  // the server went away: reconnect
        bool heard = false;
        while (PGnotify* n = PQnotifies(c.raw())) {
            heard = true;
            PQfreemem(n);
        }
        if (heard) wake_();
    }
}

PgListener::Probe PgListener::probe(PgConnection& c) {
    const std::string token = probe_token();
    try {
        notify_(options_.probe_channel, token);
    } catch (const std::exception&) {
        // Not heard because not sent: a store outage, not a deaf LISTEN.
        return wait(nullptr, kMinReconnectWait) == Ready::stop ? Probe::stop : Probe::lost;
    }
    const Clock::time_point until = Clock::now() + options_.probe_wait;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        if (left.count() <= 0) return Probe::missing;
        const Ready r = wait(&c, left);
        if (r == Ready::stop) return Probe::stop;
        if (r == Ready::timeout) return Probe::missing;
        if (!PQconsumeInput(c.raw())) return Probe::lost;
        bool arrived = false;
        bool heard = false;  // an enqueue's: a wake-up even though it proves nothing
        while (PGnotify* n = PQnotifies(c.raw())) {
            if (n->relname == options_.channel && n->extra && n->extra == token) arrived = true;
            else heard = true;
            PQfreemem(n);
        }
        if (heard) wake_();
        if (arrived) return Probe::arrived;
    }
}

}  // namespace durable
}  // namespace fcgihost
