// PgReconnect (src/durable/pg_reconnect.hpp) with a connect that fails on demand: one
// attempt per backoff step, the steps double and stop at the cap, the calls in between fail
// at once, and an outage is one log line going down and one coming back, whether a connect
// failed or a connection stopped answering.
#include "durable/pg_reconnect.hpp"

#include "durable/job_store.hpp"
#include "fcgihost/log.hpp"
#include "support/log_text.hpp"
#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <unistd.h>

#include <thread>

using fcgihost::StoreError;
using fcgihost::durable::PgConnection;
using fcgihost::durable::PgReconnect;
using fcgihost::testing_support::occurrences;
using namespace std::chrono;

namespace {

// A connect that throws while `down` is true; a null connection stands for a good one.
struct FakeServer {
    bool down = true;
    int attempts = 0;
    std::unique_ptr<PgConnection> connect() {
        ++attempts;
        if (down) throw StoreError("job store test: cannot connect: no such server");
        return nullptr;
    }
};

}  // namespace

class PgReconnectTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PgReconnectTest);
    CPPUNIT_TEST(calls_between_steps_fail_at_once_without_connecting);
    CPPUNIT_TEST(steps_double_with_jitter_up_to_the_cap);
    CPPUNIT_TEST(an_outage_is_one_line_down_and_one_line_back);
    CPPUNIT_TEST(a_connection_that_stopped_answering_begins_an_outage);
    CPPUNIT_TEST(a_connection_lost_while_backing_off_changes_nothing);
    CPPUNIT_TEST(an_answer_ends_the_outage_without_a_connect);
    CPPUNIT_TEST(an_answer_does_not_end_an_outage_of_failed_connects);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        fd_ = ::open(dir_.file("log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CPPUNIT_ASSERT(fd_ >= 0);
        fcgihost::log_set_fd(fd_);
    }
    void tearDown() override {
        fcgihost::log_set_fd(2);
        ::close(fd_);
    }

    void calls_between_steps_fail_at_once_without_connecting() {
        FakeServer server;
        PgReconnect gate([&] { return server.connect(); }, "test");
        CPPUNIT_ASSERT_THROW(gate.attempt(), StoreError);
        CPPUNIT_ASSERT_EQUAL(1, server.attempts);
        for (int i = 0; i < 100; ++i) {
            try {
                gate.attempt();
                CPPUNIT_FAIL("connected while backing off");
            } catch (const StoreError& e) {
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("no such server") != std::string::npos);
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("next attempt in") != std::string::npos);
            }
        }
        CPPUNIT_ASSERT_EQUAL(1, server.attempts);
        server.down = false;
        // The step after the first failure is 100 ms +-25 %: a connect is tried within 125 ms.
        CPPUNIT_ASSERT(gate.retry_in() <= milliseconds(126));
        std::this_thread::sleep_for(gate.retry_in());  // the gate has no event to wait on: its clock is the point
        gate.attempt();
        CPPUNIT_ASSERT_EQUAL(2, server.attempts);
        CPPUNIT_ASSERT(gate.retry_in() == milliseconds(0));
    }

    void steps_double_with_jitter_up_to_the_cap() {
        FakeServer server;
        PgReconnect gate([&] { return server.connect(); }, "test", milliseconds(4), milliseconds(64));
        std::vector<long long> steps;
        for (int i = 0; i < 9; ++i) {
            CPPUNIT_ASSERT_THROW(gate.attempt(), StoreError);
            steps.push_back(gate.retry_in().count());
            std::this_thread::sleep_for(gate.retry_in());
        }
        // Nominal 4, 8, 16, 32, 64, 64, ...; each within its +-25 % jitter (and a ms of rounding).
        long long nominal = 4;
        for (long long step : steps) {
            CPPUNIT_ASSERT_MESSAGE(std::to_string(step) + " vs " + std::to_string(nominal),
                                   step >= nominal * 3 / 4 - 1 && step <= nominal * 5 / 4 + 1);
            nominal = std::min<long long>(nominal * 2, 64);
        }
        CPPUNIT_ASSERT_EQUAL(9, server.attempts);
    }

    void an_outage_is_one_line_down_and_one_line_back() {
        FakeServer server;
        PgReconnect gate([&] { return server.connect(); }, "test");
        server.down = false;
        gate.attempt();
        server.down = true;
        for (int i = 0; i < 3; ++i) {
            CPPUNIT_ASSERT_THROW(gate.attempt(), StoreError);
            std::this_thread::sleep_for(gate.retry_in());
        }
        server.down = false;
        gate.attempt();
        gate.attempt();
        const std::string log = fcgihost::testing_support::read_file(dir_.file("log"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(1), occurrences(log, "no such server; reconnecting with backoff"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(1), occurrences(log, "job store test: connected again after"));
        CPPUNIT_ASSERT_EQUAL(6, server.attempts);
    }

    void a_connection_that_stopped_answering_begins_an_outage() {
        FakeServer server;
        server.down = false;
        PgReconnect gate([&] { return server.connect(); }, "test");
        gate.attempt();
        gate.lost("no answer from the server within 7 s");
        try {
            gate.attempt();
            CPPUNIT_FAIL("connected at once after a lost connection");
        } catch (const StoreError& e) {
            const std::string what = e.what();
            CPPUNIT_ASSERT_MESSAGE(what, what.find("job store test: no answer from the server within 7 s") == 0);
        }
        CPPUNIT_ASSERT_EQUAL(1, server.attempts);
        CPPUNIT_ASSERT(gate.retry_in() > milliseconds(0) && gate.retry_in() <= milliseconds(126));
        std::this_thread::sleep_for(gate.retry_in());
        gate.attempt();
        CPPUNIT_ASSERT_EQUAL(2, server.attempts);
        const std::string log = fcgihost::testing_support::read_file(dir_.file("log"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(
            log, std::size_t(1),
            occurrences(log, "job store test: no answer from the server within 7 s; reconnecting with backoff"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(1), occurrences(log, "job store test: connected again after"));
    }

    void a_connection_lost_while_backing_off_changes_nothing() {
        FakeServer server;
        PgReconnect gate([&] { return server.connect(); }, "test", milliseconds(4000), milliseconds(8000));
        CPPUNIT_ASSERT_THROW(gate.attempt(), StoreError);
        const milliseconds step = gate.retry_in();
        gate.lost("no answer from the server within 7 s");
        // Neither a new step from the start nor another outage line.
        CPPUNIT_ASSERT(gate.retry_in() <= step && gate.retry_in() >= step - milliseconds(1000));
        try {
            gate.attempt();
            CPPUNIT_FAIL("connected while backing off");
        } catch (const StoreError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("no such server") != std::string::npos);
        }
        const std::string log = fcgihost::testing_support::read_file(dir_.file("log"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(1), occurrences(log, "reconnecting with backoff"));
        CPPUNIT_ASSERT_EQUAL(1, server.attempts);
    }

    void an_answer_ends_the_outage_without_a_connect() {
        FakeServer server;
        server.down = false;
        PgReconnect gate([&] { return server.connect(); }, "test", milliseconds(4000), milliseconds(8000));
        gate.attempt();
        gate.answered();  // no outage: nothing to say
        gate.lost("no answer from the server within 7 s");
        CPPUNIT_ASSERT(gate.retry_in() > milliseconds(0));
        gate.answered();
        gate.answered();
        CPPUNIT_ASSERT(gate.retry_in() == milliseconds(0));
        gate.attempt();  // at once, not 3 s or more later
        CPPUNIT_ASSERT_EQUAL(2, server.attempts);
        const std::string log = fcgihost::testing_support::read_file(dir_.file("log"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(1), occurrences(log, "job store test: answering again after"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(0), occurrences(log, "connected again after"));
    }

    void an_answer_does_not_end_an_outage_of_failed_connects() {
        FakeServer server;
        PgReconnect gate([&] { return server.connect(); }, "test", milliseconds(4000), milliseconds(8000));
        CPPUNIT_ASSERT_THROW(gate.attempt(), StoreError);
        // The old connections answer, new ones are refused: still one outage, still backing off.
        gate.answered();
        CPPUNIT_ASSERT(gate.retry_in() > milliseconds(0));
        CPPUNIT_ASSERT_THROW(gate.attempt(), StoreError);
        CPPUNIT_ASSERT_EQUAL(1, server.attempts);
        const std::string log = fcgihost::testing_support::read_file(dir_.file("log"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(0), occurrences(log, "again after"));
    }

private:
    fcgihost::testing_support::TempDir dir_;
    int fd_ = -1;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(PgReconnectTest, "unit");
