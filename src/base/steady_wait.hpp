// wait_until: a Boost condition variable wait up to a std::chrono::steady_clock deadline.
// Every deadline in fcgihost is a std::chrono one, while Boost.Thread's own wait_until
// takes only boost::chrono time points (the same monotonic clock, another type).
#pragma once

#include <boost/thread/condition_variable.hpp>
#include <boost/thread/mutex.hpp>

#include <chrono>

namespace fcgihost {
namespace detail {

// Returns at once if the deadline has passed. Rounds up to the microsecond, so a wait that
// times out has reached its deadline: a caller looping "until now >= deadline" never spins
// on zero-length waits through the last fraction of a microsecond. May return early, as any
// condition wait may: callers re-check their condition.
inline void wait_until(boost::condition_variable& cv, boost::unique_lock<boost::mutex>& lock,
                       std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() > 0) cv.wait_for(lock, boost::chrono::microseconds(left.count()));
}

}  // namespace detail
}  // namespace fcgihost
