// Job: a piece of deferred work, `void(const CancellationToken&)`.
//
// Like a move-only std::function, with one difference that matters to a worker thread: a
// std::function destroys its target in noexcept code, so a capture whose destructor throws
// ends the process (std::terminate). A Job is destroyed with reset(), which lets that
// exception reach its caller; the queue catches it there, logs it and counts it.
// A Job's own destructor cannot let it out: it logs it and goes on. A Job built from a
// std::function keeps the std::function's behaviour.
//
// Any callable of `(const CancellationToken&)` converts: a lambda capturing by value is
// the usual one, and captures may be move-only (a std::unique_ptr, a socket).
#pragma once

#include "fcgihost/cancellation.hpp"

#include <cstddef>
#include <type_traits>
#include <utility>

namespace fcgihost {

// How the worker threads that run jobs are scheduled (--worker-policy; docs/flags.md).
enum class WorkerPolicy { normal, batch, idle, adaptive };

class Job {
public:
    Job(const Job&) = delete;
    Job& operator=(const Job&) = delete;

    Job() noexcept = default;
    Job(std::nullptr_t) noexcept {}
    template <class F, class = std::enable_if_t<!std::is_same<std::decay_t<F>, Job>::value &&
                                                std::is_invocable<std::decay_t<F>&, const CancellationToken&>::value>>
    Job(F&& callable) : callable_(new Model<std::decay_t<F>>(std::forward<F>(callable))) {}
    Job(Job&& other) noexcept : callable_(std::exchange(other.callable_, nullptr)) {}
    // Destroys what this Job held first (see reset()).
    Job& operator=(Job&& other);
    ~Job();

    explicit operator bool() const noexcept { return callable_ != nullptr; }
    // Runs the job; its exceptions reach the caller. Calling an empty Job is a bug (it
    // throws std::bad_function_call).
    void operator()(const CancellationToken& token) const;
    // Destroys the callable and its captures now. Their exception, if one throws, reaches
    // the caller; the Job is empty and its memory freed either way.
    void reset();

private:
    struct Callable {
        virtual ~Callable() noexcept(false) = default;
        virtual void call(const CancellationToken& token) = 0;
    };
    template <class F> struct Model final : Callable {
        explicit Model(F&& f) : callable(std::move(f)) {}
        explicit Model(const F& f) : callable(f) {}
        void call(const CancellationToken& token) override { callable(token); }
        F callable;
    };

    Callable* callable_ = nullptr;  // owned
};

}  // namespace fcgihost
