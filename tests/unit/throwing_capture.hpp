// A capture for jobs whose destructor throws, to test that no such job ends the process.
#pragma once

#include <stdexcept>

namespace fcgihost { namespace test_support {

// Throws from its destructor once armed; a moved-from one is disarmed.
struct Bomb {
    Bomb(const Bomb&) = delete;
    Bomb& operator=(const Bomb&) = delete;
    static Bomb armed() {
        Bomb b;
        b.armed_ = true;
        return b;
    }
    Bomb() = default;
    Bomb(Bomb&& other) noexcept : armed_(other.armed_) { other.armed_ = false; }
    ~Bomb() noexcept(false) {
        if (armed_) throw std::runtime_error("capture destructor threw");
    }
    bool armed_ = false;
};

}}  // namespace fcgihost::test_support
