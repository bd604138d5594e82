// Request bodies that do not add up, against a real fcgihost-demo (docs/contract.md#bad-input): shorter
// or longer than CONTENT_LENGTH, broken off by a close, a stall or FCGI_ABORT_REQUEST,
// claimed far over --max-body, and input that keeps coming after the responder has
// refused it. A body that is not whole never reaches the handler (here: never queues a
// job); the refusal is a 4xx, an FCGI_END_REQUEST or a close, it is logged, and no request
// thread is held past a bound.
#include "integration/demo_process.hpp"
#include "support/fcgi_outcome.hpp"
#include "support/proc_stats.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <thread>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kBound = std::chrono::seconds(10);  // far above the timeouts in play: reached only when wedged

// BEGIN and the whole params stream of a request whose body is still to come.
std::string head(const std::string& method, const std::string& uri, const FcgiParams& extra = {}) {
    FcgiParams params = cgi_params(method, uri);
    // cgi_params adds CONTENT_LENGTH for POST; these tests set their own or none.
    params.erase(std::remove_if(params.begin(), params.end(), [](const auto& p) { return p.first == "CONTENT_LENGTH"; }),
                 params.end());
    params.insert(params.end(), extra.begin(), extra.end());
    return fcgi_begin_request(1, false) + fcgi_stream(kFcgiParams, 1, fcgi_encode_params(params));
}

long long jobs_accepted(const DemoProcess& demo) { return status_number(demo.get("/status").body, "accepted"); }

// Keeps writing stdin records on `c` until the responder closes it or `limit` passes;
// returns whether it was closed.
bool flood_until_closed(FcgiConnection& c, std::chrono::milliseconds limit) {
    const std::string chunk = fcgi_record(kFcgiStdin, 1, std::string(16384, 'f'));
    const auto deadline = std::chrono::steady_clock::now() + limit;
    c.set_timeout(std::chrono::milliseconds(500));
    while (std::chrono::steady_clock::now() < deadline) {
        try {
            c.send_raw(chunk);
        } catch (const FcgiError&) {
            if (c.peer_closed(std::chrono::milliseconds(0))) return true;
            // A full socket buffer (send timed out): the responder is not reading; go on.
        }
    }
    return false;
}

}  // namespace

class AbuseBodyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AbuseBodyTest);
    CPPUNIT_TEST(body_shorter_or_longer_than_content_length_gets_400_and_a_log_line);
    CPPUNIT_TEST(body_broken_off_never_reaches_the_handler);
    CPPUNIT_TEST(abort_request_mid_body_is_answered_and_runs_nothing);
    CPPUNIT_TEST(abort_request_after_the_answer_leaves_the_process_serving);
    CPPUNIT_TEST(body_stalled_past_the_io_timeout_frees_the_thread);
    CPPUNIT_TEST(a_huge_content_length_reserves_nothing);
    CPPUNIT_TEST(a_body_over_max_body_without_content_length_gets_413);
    CPPUNIT_TEST(input_after_a_refusal_cannot_hold_the_thread);
    CPPUNIT_TEST_SUITE_END();

public:
    void body_shorter_or_longer_than_content_length_gets_400_and_a_log_line() {
        DemoProcess demo({"--threads", "1"});
        for (const std::string& body : {std::string("abc"), std::string("abcdefghijklmnop")}) {
            FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
            c.send_raw(head("POST", "/echo", {{"CONTENT_LENGTH", "10"}}) + fcgi_stream(kFcgiStdin, 1, body));
            FcgiOutcome o = fcgi_outcome(c, kBound);
            CPPUNIT_ASSERT_EQUAL(400, o.status());
            CPPUNIT_ASSERT(o.closed);
        }
        for (const std::string& length : {std::string("-1"), std::string("1e3"), std::string("99999999999999999999")}) {
            FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
            c.send_raw(head("POST", "/echo", {{"CONTENT_LENGTH", length}}) + fcgi_stream(kFcgiStdin, 1, "abc"));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(length, 400, fcgi_outcome(c, kBound).status());
        }
        std::string log = demo.log();
        CPPUNIT_ASSERT(log.find("refused POST /echo: body does not match CONTENT_LENGTH") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("x"), demo.post("/echo", "x").body);
    }

    void body_broken_off_never_reaches_the_handler() {
        // GET /work with a body: were the broken body passed on as if whole, the handler
        // would queue a job. With and without CONTENT_LENGTH, closed or gone quiet.
        DemoProcess demo({"--threads", "1", "--io-timeout", "300ms"});
        for (bool with_length : {false, true}) {
            for (bool close_it : {true, false}) {
                FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
                FcgiParams length;
                if (with_length) length.emplace_back("CONTENT_LENGTH", "10");
                c.send_raw(head("GET", "/work?ms=0", length) + fcgi_record(kFcgiStdin, 1, "abc"));
                if (close_it) ::shutdown(c.fd(), SHUT_WR);
                FcgiOutcome o = fcgi_outcome(c, kBound);
                CPPUNIT_ASSERT(o.closed);
                CPPUNIT_ASSERT(!o.ended() || o.status() == 400);
            }
        }
        CPPUNIT_ASSERT_EQUAL(0LL, jobs_accepted(demo));
        std::string log = demo.log();
        CPPUNIT_ASSERT(log.find("closed a connection: the web server closed it before its request was complete "
                                "(in its body)") != std::string::npos);
        CPPUNIT_ASSERT(demo.process().wait_for_log(
            "closed a connection: no complete request within --io-timeout (in its body)", kBound));
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=whole").status);
    }

    void abort_request_mid_body_is_answered_and_runs_nothing() {
        // FastCGI 1.0, section 5.4: the abort of a request not yet complete is answered with
        // FCGI_END_REQUEST. The connection was not kept: then it is closed.
        DemoProcess demo({"--threads", "1"});
        for (const std::string& length : {std::string(""), std::string("10")}) {
            FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
            FcgiParams extra;
            if (!length.empty()) extra.emplace_back("CONTENT_LENGTH", length);
            c.send_raw(head("GET", "/work?ms=0", extra) + fcgi_record(kFcgiStdin, 1, "abc") +
                       fcgi_record(kFcgiAbortRequest, 1, ""));
            FcgiOutcome o = fcgi_outcome(c, kBound);
            CPPUNIT_ASSERT(o.closed);
            CPPUNIT_ASSERT_EQUAL(int(kFcgiRequestComplete), o.protocol_status());
            CPPUNIT_ASSERT_EQUAL(0, o.status());
        }
        CPPUNIT_ASSERT_EQUAL(0LL, jobs_accepted(demo));
    }

    void abort_request_after_the_answer_leaves_the_process_serving() {
        // nginx never sends FCGI_ABORT_REQUEST; a web server that did, after its answer
        // came, finds the kept connection answered or closed, never a wedged thread.
        DemoProcess demo({"--threads", "1"});
        FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), c.request(cgi_params("GET", "/"), "", true).body);
        c.send_raw(fcgi_record(kFcgiAbortRequest, 1, ""));
        FcgiOutcome o = fcgi_outcome(c, std::chrono::milliseconds(2000));
        CPPUNIT_ASSERT(!o.ended());
        if (!o.closed) CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), c.request(cgi_params("GET", "/"), "", true).body);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
    }

    void body_stalled_past_the_io_timeout_frees_the_thread() {
        // One request thread and a body that stops coming: the request never held the
        // thread, and --io-timeout after it began the connection is closed and logged.
        DemoProcess demo({"--threads", "1", "--io-timeout", "300ms"});
        FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
        c.send_raw(head("POST", "/echo", {{"CONTENT_LENGTH", "10"}}) + fcgi_record(kFcgiStdin, 1, "abc"));
        CPPUNIT_ASSERT_EQUAL(std::string("meanwhile"), demo.post("/echo", "meanwhile").body);
        FcgiOutcome o = fcgi_outcome(c, kBound);
        CPPUNIT_ASSERT(o.closed);
        CPPUNIT_ASSERT(!o.ended());
        CPPUNIT_ASSERT(demo.process().wait_for_log(
            "closed a connection: no complete request within --io-timeout (in its body)", kBound));
        CPPUNIT_ASSERT_EQUAL(std::string("after"), demo.post("/echo", "after").body);
    }

    void a_huge_content_length_reserves_nothing() {
        // CONTENT_LENGTH is what the web server claims; the body buffer used to be reserved
        // for it before a byte came (with --max-body 60G: bad_alloc, and the process ended).
        DemoProcess demo({"--threads", "1", "--max-body", "1G"});
        const pid_t pid = demo.process().pid();
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        const long peak_before = proc_vm_peak_kib(pid);
        FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
        c.send_raw(head("POST", "/echo", {{"CONTENT_LENGTH", "1073741824"}}) + fcgi_stream(kFcgiStdin, 1, "abc"));
        CPPUNIT_ASSERT_EQUAL(400, fcgi_outcome(c, kBound).status());
        CPPUNIT_ASSERT_MESSAGE("VmPeak grew by " + std::to_string(proc_vm_peak_kib(pid) - peak_before) + " KiB",
                               proc_vm_peak_kib(pid) - peak_before < 256 * 1024);
        FcgiConnection over = FcgiConnection::connect_unix(demo.socket_path());
        over.send_raw(head("POST", "/echo", {{"CONTENT_LENGTH", "60000000000"}}));
        CPPUNIT_ASSERT_EQUAL(413, fcgi_outcome(over, kBound).status());
        CPPUNIT_ASSERT(!demo.process().exited());
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
    }

    void a_body_over_max_body_without_content_length_gets_413() {
        // No CONTENT_LENGTH: the body is kept up to one byte over the limit, then answered.
        DemoProcess demo({"--threads", "1", "--max-body", "1k"});
        for (std::size_t size : {std::size_t(1025), std::size_t(200000)}) {
            FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
            try {
                c.send_raw(head("POST", "/echo") + fcgi_stream(kFcgiStdin, 1, std::string(size, 'b')));
            } catch (const FcgiError&) {
                // closed before all of it was sent: the answer came first
            }
            CPPUNIT_ASSERT_EQUAL(413, fcgi_outcome(c, kBound).status());
        }
        CPPUNIT_ASSERT_EQUAL(std::string(1024, 'k'), demo.post("/echo", std::string(1024, 'k')).body);
    }

    void input_after_a_refusal_cannot_hold_the_thread() {
        // After a 413 the responder drains unread input before it closes, so that the
        // answer is not lost to a reset. A client that never stops sending must not keep
        // the only request thread: the drain has a bound (2 s), and then the close.
        DemoProcess demo({"--threads", "1", "--max-body", "1k", "--io-timeout", "30s"});
        FcgiConnection flood = FcgiConnection::connect_unix(demo.socket_path());
        flood.send_raw(head("POST", "/echo", {{"CONTENT_LENGTH", "100000000"}}));
        FcgiRecord first = flood.read_record(kBound).value();  // the 413 is on its way
        CPPUNIT_ASSERT_EQUAL(kFcgiStdout, first.type);
        CPPUNIT_ASSERT(first.content.find("Status: 413") == 0);
        std::atomic<bool> closed{false};
        std::thread sender([&] { closed = flood_until_closed(flood, std::chrono::seconds(20)); });
        FcgiResponse next;
        try {
            next = FcgiConnection::connect_unix(demo.socket_path()).request(cgi_params("GET", "/"));
        } catch (const FcgiError&) {
        }
        sender.join();
        CPPUNIT_ASSERT_MESSAGE("the flooding connection was never closed", closed.load());
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), next.body);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(AbuseBodyTest, "integration");
