#include "fcgihost/job.hpp"

#include "fcgihost/log.hpp"

#include <exception>
#include <functional>

namespace fcgihost {

Job& Job::operator=(Job&& other) {
    if (this != &other) {
        reset();
        callable_ = std::exchange(other.callable_, nullptr);
    }
    return *this;
}

Job::~Job() {
    try {
        reset();
    } catch (const std::exception& e) {
        log_error("a job's captures threw while being destroyed (ignored): ", e.what());
    } catch (...) {
        log_error("a job's captures threw while being destroyed (ignored): exception of unknown type");
    }
}

void Job::operator()(const CancellationToken& token) const {
    if (callable_ == nullptr) throw std::bad_function_call();
    callable_->call(token);
}

void Job::reset() {
    // A delete-expression frees the memory even when the destructor throws.
    delete std::exchange(callable_, nullptr);
}

}  // namespace fcgihost
