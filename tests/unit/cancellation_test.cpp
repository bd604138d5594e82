// Tests for fcgihost/cancellation.hpp: the one-way token states and the waits that wake on them.
//
// Threads are ordered by the token itself or by promises, never by sleeping. Sleeps that
// must be woken use a long duration: if the wake-up is missing, sleep_for returns true
// after 30 s and the assertion on its return value fails.
#include "fcgihost/cancellation.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <future>
#include <thread>

using namespace fcgihost;

namespace {

const std::chrono::milliseconds kLongSleep(30000);

}  // namespace

class CancellationTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CancellationTest);
    CPPUNIT_TEST(testDefaultTokenNeverStops);
    CPPUNIT_TEST(testTransitionsForward);
    CPPUNIT_TEST(testCancelImpliesStopping);
    CPPUNIT_TEST(testNeverGoesBack);
    CPPUNIT_TEST(testCopiesShareState);
    CPPUNIT_TEST(testSleepPassesUntouched);
    CPPUNIT_TEST(testSleepAlreadyStoppedReturnsAtOnce);
    CPPUNIT_TEST(testSleepWakesOnStop);
    CPPUNIT_TEST(testSleepSleepsThroughStoppingByDefault);
    CPPUNIT_TEST(testSleepForCancelIgnoresStop);
    CPPUNIT_TEST(testSleepForCancelWakesOnCancel);
    CPPUNIT_TEST(testWaitReturnsOnceReached);
    CPPUNIT_TEST_SUITE_END();

public:
    void testDefaultTokenNeverStops() {
        CancellationToken token;
        CPPUNIT_ASSERT(!token.stopping());
        CPPUNIT_ASSERT(!token.cancelled());
        CPPUNIT_ASSERT(token.level() == TokenLevel::running);
        CPPUNIT_ASSERT(token.sleep_for(std::chrono::milliseconds(1)));
        token.wait(TokenLevel::running);  // must return at once
    }

    void testTransitionsForward() {
        CancellationSource source;
        CancellationToken token = source.token();
        CPPUNIT_ASSERT(source.level() == TokenLevel::running);
        CPPUNIT_ASSERT(!token.stopping());
        source.request_stop();
        CPPUNIT_ASSERT(source.level() == TokenLevel::stopping);
        CPPUNIT_ASSERT(token.level() == TokenLevel::stopping);
        CPPUNIT_ASSERT(token.stopping());
        CPPUNIT_ASSERT(!token.cancelled());
        source.cancel();
        CPPUNIT_ASSERT(source.level() == TokenLevel::cancelled);
        CPPUNIT_ASSERT(token.level() == TokenLevel::cancelled);
        CPPUNIT_ASSERT(token.cancelled());
    }

    void testCancelImpliesStopping() {
        CancellationSource source;
        CancellationToken token = source.token();
        source.cancel();  // straight from running
        CPPUNIT_ASSERT(token.cancelled());
        CPPUNIT_ASSERT(token.stopping());
        CPPUNIT_ASSERT(token.level() == TokenLevel::cancelled);
    }

    void testNeverGoesBack() {
        CancellationSource source;
        CancellationToken token = source.token();
        source.cancel();
        source.request_stop();
        CPPUNIT_ASSERT(source.level() == TokenLevel::cancelled);
        CPPUNIT_ASSERT(token.cancelled());
        source.request_stop();
        source.cancel();
        CPPUNIT_ASSERT(token.level() == TokenLevel::cancelled);
    }

    void testCopiesShareState() {
        CancellationSource source;
        CancellationToken first = source.token();
        CancellationToken copy = first;
        CancellationToken second = source.token();
        source.request_stop();
        CPPUNIT_ASSERT(first.stopping());
        CPPUNIT_ASSERT(copy.stopping());
        CPPUNIT_ASSERT(second.stopping());
        // An unrelated source's token is untouched.
        CancellationSource other;
        CPPUNIT_ASSERT(!other.token().stopping());
    }

    void testSleepPassesUntouched() {
        CancellationSource source;
        CPPUNIT_ASSERT(source.token().sleep_for(std::chrono::milliseconds(5)));
        CPPUNIT_ASSERT(source.token().sleep_for(std::chrono::milliseconds(5), TokenLevel::cancelled));
    }

    void testSleepAlreadyStoppedReturnsAtOnce() {
        CancellationSource source;
        source.request_stop();
        CPPUNIT_ASSERT(!source.token().sleep_for(kLongSleep, TokenLevel::stopping));
        source.cancel();
        CPPUNIT_ASSERT(!source.token().sleep_for(kLongSleep));
        CPPUNIT_ASSERT(!source.token().sleep_for(kLongSleep, TokenLevel::cancelled));
    }

    void testSleepWakesOnStop() {
        CancellationSource source;
        CancellationToken token = source.token();
        std::promise<void> about_to_sleep;
        std::future<void> sleeper_ready = about_to_sleep.get_future();
        std::thread stopper([&] {
            sleeper_ready.wait();
            source.request_stop();
        });
        about_to_sleep.set_value();
        bool slept_through = token.sleep_for(kLongSleep, TokenLevel::stopping);
        stopper.join();
        CPPUNIT_ASSERT(!slept_through);
        CPPUNIT_ASSERT(token.stopping());
        CPPUNIT_ASSERT(!token.cancelled());
    }

    // A job that sleeps with the defaults keeps sleeping when the drain begins: the drain
    // exists so that it finishes.
    void testSleepSleepsThroughStoppingByDefault() {
        CancellationSource source;
        source.request_stop();
        CPPUNIT_ASSERT(source.token().sleep_for(std::chrono::milliseconds(5)));
        CPPUNIT_ASSERT(source.token().sleep_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(5)));
        source.cancel();
        CPPUNIT_ASSERT(!source.token().sleep_for(kLongSleep));
    }

    // Deterministic half of "wake_on=cancelled keeps sleeping through stopping": the
    // token is already stopping, yet the sleep runs its whole (short) duration.
    void testSleepForCancelIgnoresStop() {
        CancellationSource source;
        source.request_stop();
        CPPUNIT_ASSERT(source.token().sleep_for(std::chrono::milliseconds(5), TokenLevel::cancelled));
    }

    void testSleepForCancelWakesOnCancel() {
        CancellationSource source;
        CancellationToken token = source.token();
        std::promise<void> about_to_sleep;
        std::future<void> sleeper_ready = about_to_sleep.get_future();
        std::thread stopper([&] {
            sleeper_ready.wait();
            source.request_stop();
            source.cancel();
        });
        about_to_sleep.set_value();
        bool slept_through = token.sleep_for(kLongSleep, TokenLevel::cancelled);
        // Recorded at once: a sleep woken by request_stop would usually see "not cancelled".
        bool cancelled_on_wake = token.cancelled();
        stopper.join();
        CPPUNIT_ASSERT(!slept_through);
        CPPUNIT_ASSERT(cancelled_on_wake);
    }

    void testWaitReturnsOnceReached() {
        CancellationSource source;
        CancellationToken token = source.token();
        std::promise<TokenLevel> seen_stopping;
        std::promise<TokenLevel> seen_cancelled;
        std::future<TokenLevel> at_stopping = seen_stopping.get_future();
        std::future<TokenLevel> at_cancelled = seen_cancelled.get_future();
        std::thread waiter([&] {
            token.wait(TokenLevel::stopping);
            seen_stopping.set_value(token.level());
            token.wait(TokenLevel::cancelled);
            seen_cancelled.set_value(token.level());
        });
        source.request_stop();
        TokenLevel after_stop = at_stopping.get();
        source.cancel();
        TokenLevel after_cancel = at_cancelled.get();
        waiter.join();
        CPPUNIT_ASSERT(after_stop == TokenLevel::stopping);
        CPPUNIT_ASSERT(after_cancel == TokenLevel::cancelled);
        token.wait(TokenLevel::stopping);  // already past: returns at once
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(CancellationTest, "unit");
