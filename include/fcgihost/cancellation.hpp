// Cancellation: how a background job learns that the process is shutting down.
//
// A CancellationSource owns the state; CancellationTokens are cheap copyable views of it
// handed to jobs. The state only moves forward: running -> stopping -> cancelled.
//   stopping()  shutdown has begun; long-running loops may wrap up at a point where
//               nothing is lost (this is where ASP.NET's QBWI and hosted-service tokens
//               fire). Nothing forces a job to: the drain exists so that jobs finish.
//   cancelled() the drain deadline has passed; return now, the process exits soon.
// cancelled() implies stopping(). All members are thread-safe; a transition is visible to
// every thread once the call that made it has returned.
//
// The waits (sleep_for, sleep_until) sleep through stopping and wake at cancelled unless
// the caller asks to wake at stopping.
//
// How a job ends, and how it is counted:
//   returns                          completed, unless the deadline had cancelled it
//   throws JobCancelled              cancelled (the job gave up: work lost, exit 3),
//     (throw_if_cancelled() does)    whatever the token's level
//   returns or throws after cancel() cancelled (exit 3), named in the drain summary
//   throws anything else             failed
// So a job that stops early must say so: returning early counts as done.
//
// Example (a job that keeps its sleep through the drain but not past the deadline):
//     queue.queue("resize", [path](const CancellationToken& token) {
//         for (int i = 0; i < 10; ++i) {
//             if (!token.sleep_for(std::chrono::milliseconds(100))) throw JobCancelled();
//             resize_step(path, i);
//         }
//     });
#pragma once

#include <chrono>
#include <exception>
#include <memory>

namespace fcgihost {

enum class TokenLevel { running = 0, stopping = 1, cancelled = 2 };

// Thrown by a job to say that it gave up: it is counted cancelled, not completed.
struct JobCancelled : std::exception {
    const char* what() const noexcept override { return "job cancelled"; }
};

namespace detail { struct CancellationState; }

class CancellationToken {
public:
    // A token no source controls: never stopping, never cancelled. Handy in tests.
    CancellationToken();

    bool stopping() const;
    bool cancelled() const;
    TokenLevel level() const;

    // Sleeps for `duration`, waking early once the token reaches `wake_on`. Returns true
    // if the whole duration passed, false if the token woke it. By default only cancelled
    // wakes it; pass TokenLevel::stopping to wake at the start of the drain instead.
    bool sleep_for(std::chrono::milliseconds duration, TokenLevel wake_on = TokenLevel::cancelled) const;
    bool sleep_until(std::chrono::steady_clock::time_point deadline,
                     TokenLevel wake_on = TokenLevel::cancelled) const;

    // Throws JobCancelled once cancelled() is true.
    void throw_if_cancelled() const;

    // Blocks until the token reaches `level` (running returns at once).
    void wait(TokenLevel level) const;

private:
    friend class CancellationSource;
    explicit CancellationToken(std::shared_ptr<detail::CancellationState> state);
    std::shared_ptr<detail::CancellationState> state_;  // shared with the source; guards itself
};

class CancellationSource {
public:
    CancellationSource(const CancellationSource&) = delete;
    CancellationSource& operator=(const CancellationSource&) = delete;
    CancellationSource();
    ~CancellationSource();

    CancellationToken token() const;
    void request_stop();  // running -> stopping; no effect later on
    void cancel();        // -> cancelled (implies stopping)
    TokenLevel level() const;

private:
    std::shared_ptr<detail::CancellationState> state_;
};

}  // namespace fcgihost
