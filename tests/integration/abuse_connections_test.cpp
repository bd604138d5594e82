// Connections that hold on without sending a request, against a real fcgihost-demo
// (docs/contract.md#bad-input): many more idle connections than request threads, connections
// that send a byte and go quiet, a peer that floods after malformed input, and silent
// connections at a stop. Idle connections hold no thread; a connection that has begun a
// request holds one only up to --io-timeout; none can hold the stop for longer.
#include "integration/demo_process.hpp"
#include "support/log_text.hpp"
#include "support/fcgi_outcome.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>

#include <atomic>
#include <memory>
#include <thread>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kBound = std::chrono::seconds(10);  // far above the timeouts in play: reached only when wedged
const std::string kMalformed = "closed a connection: malformed FastCGI input";
const std::string kTimedOut = "closed a connection: no complete request within --io-timeout";

std::vector<std::unique_ptr<FcgiConnection>> open_connections(const DemoProcess& demo, int count) {
    std::vector<std::unique_ptr<FcgiConnection>> out;
    for (int i = 0; i < count; ++i) {
        out.emplace_back(new FcgiConnection(FcgiConnection::connect_unix(demo.socket_path())));
    }
    return out;
}

}  // namespace

class AbuseConnectionsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AbuseConnectionsTest);
    CPPUNIT_TEST(idle_connections_beyond_the_thread_count_hold_no_thread);
    CPPUNIT_TEST(a_request_begun_and_abandoned_holds_a_thread_only_until_the_io_timeout);
    CPPUNIT_TEST(a_flood_after_malformed_input_cannot_hold_the_thread);
    CPPUNIT_TEST(connections_silent_at_the_stop_hold_it_only_until_the_io_timeout);
    CPPUNIT_TEST(a_request_sent_just_after_the_stop_on_an_earlier_connection_is_served);
    CPPUNIT_TEST_SUITE_END();

public:
    void idle_connections_beyond_the_thread_count_hold_no_thread() {
        // A 30 s io timeout: were idle connections to hold the two threads, the requests
        // below would wait for it and time out at the client's 10 s.
        DemoProcess demo({"--threads", "2", "--io-timeout", "30s"});
        auto idle = open_connections(demo, 200);
        for (int i = 0; i < 20; ++i) CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        CPPUNIT_ASSERT(eventually([&] { return status_number(demo.get("/status").body, "connections") >= 200; },
                                  kBound));
        // And they still work when they finally speak.
        for (int i = 0; i < 200; i += 40) {
            CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), idle[i]->request(cgi_params("GET", "/"), "", true).body);
        }
    }

    void a_request_begun_and_abandoned_holds_a_thread_only_until_the_io_timeout() {
        // Four connections send one byte each to two threads, and go quiet. None holds a
        // thread; each is closed and logged at the io timeout; the process serves on.
        DemoProcess demo({"--threads", "2", "--io-timeout", "300ms"});
        auto begun = open_connections(demo, 4);
        for (auto& c : begun) c->send_raw(std::string(1, '\x01'));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        for (auto& c : begun) {
            FcgiOutcome o = fcgi_outcome(*c, kBound);
            CPPUNIT_ASSERT(o.closed);
            CPPUNIT_ASSERT(!o.ended());
        }
        // Each line is written just after its close; the last may trail the client's EOF.
        CPPUNIT_ASSERT(eventually([&] { return occurrences(demo.log(), kTimedOut + " (in a record)") == 4; }, kBound));
    }

    void a_flood_after_malformed_input_cannot_hold_the_thread() {
        // libfcgi's own close reads until the peer has been quiet for 2 s; a peer that never
        // goes quiet would keep the only thread. The responder closes such a connection at once.
        DemoProcess demo({"--threads", "1", "--io-timeout", "30s"});
        FcgiConnection flood = FcgiConnection::connect_unix(demo.socket_path());
        flood.set_timeout(std::chrono::milliseconds(500));
        std::atomic<bool> closed{false};
        std::thread sender([&] {
            const std::string junk(16384, 'j');
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
            while (std::chrono::steady_clock::now() < deadline) {
                try {
                    flood.send_raw(junk);
                } catch (const FcgiError&) {
                    if (flood.peer_closed(std::chrono::milliseconds(0))) {
                        closed = true;
                        return;
                    }
                }
            }
        });
        FcgiResponse next;
        try {
            next = FcgiConnection::connect_unix(demo.socket_path()).request(cgi_params("GET", "/"));
        } catch (const FcgiError&) {
        }
        sender.join();
        CPPUNIT_ASSERT_MESSAGE("the flooding connection was never closed", closed.load());
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), next.body);
        // The line is written just after the close: wait for it.
        CPPUNIT_ASSERT(demo.process().wait_for_log(kMalformed, std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), occurrences(demo.log(), kMalformed));
    }

    void connections_silent_at_the_stop_hold_it_only_until_the_io_timeout() {
        // A connection that has sent nothing when the stop comes may have its request on
        // the way, so the stop waits for it, but only up to the io timeout.
        DemoProcess demo({"--threads", "2", "--io-timeout", "500ms"});
        auto silent = open_connections(demo, 5);
        CPPUNIT_ASSERT(eventually([&] { return status_number(demo.get("/status").body, "connections") >= 5; }, kBound));
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM, kBound));
        CPPUNIT_ASSERT(demo.log().find("stop: closed 5 connection(s) that sent no request within --io-timeout") !=
                       std::string::npos);
        for (auto& c : silent) CPPUNIT_ASSERT(c->peer_closed(std::chrono::milliseconds(0)));
    }

    void a_request_sent_just_after_the_stop_on_an_earlier_connection_is_served() {
        // A web server connects and then writes; a stop that lands in between must not
        // take the fresh connection for an idle one and close it under the request.
        DemoProcess demo({"--threads", "1", "--io-timeout", "10s"});
        FcgiConnection late = FcgiConnection::connect_unix(demo.socket_path());
        CPPUNIT_ASSERT(eventually([&] { return status_number(demo.get("/status").body, "connections") >= 1; }, kBound));
        demo.process().signal(SIGTERM);
        CPPUNIT_ASSERT(demo.process().wait_for_log("for the first request on 1 connection(s)", kBound));
        CPPUNIT_ASSERT_EQUAL(202, late.request(cgi_params("GET", "/work?ms=0&id=late")).status);
        CPPUNIT_ASSERT(demo.process().wait_exit(kBound));
        CPPUNIT_ASSERT_EQUAL(0, demo.process().exit_code());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), count_exact_lines(demo.job_log(), "done late"));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(AbuseConnectionsTest, "integration");
