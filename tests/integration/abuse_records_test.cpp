// One record at a time against a real fcgihost-demo (docs/contract.md#bad-input): management
// records answered at once (FCGI_GET_VALUES alone, as HAProxy sends it before a request,
// or naming one value four times), a peer that sends a single record of any type and
// waits, a peer that trickles records nobody reads, roles other than RESPONDER, and
// FCGI_ABORT_REQUEST before a request is whole. None may hold a request thread, crash the
// process, or go unanswered where FastCGI says to answer.
#include "integration/demo_process.hpp"
#include "support/fcgi_outcome.hpp"
#include "support/log_text.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <atomic>
#include <thread>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kBound = std::chrono::seconds(10);  // far above the timeouts in play: reached only when wedged

std::string get_request(std::uint16_t id, bool keep, const std::string& uri = "/", std::uint16_t role = kFcgiResponder) {
    return fcgi_begin_request(id, keep, role) + fcgi_stream(kFcgiParams, id, fcgi_encode_params(cgi_params("GET", uri))) +
           fcgi_stream(kFcgiStdin, id, "");
}

// The next record, within the bound; fails the test if none comes.
FcgiRecord next_record(FcgiConnection& c) {
    std::optional<FcgiRecord> r = c.read_record(kBound);
    CPPUNIT_ASSERT_MESSAGE("no answer within the bound", r.has_value());
    return *r;
}

long long jobs_accepted(const DemoProcess& demo) { return status_number(demo.get("/status").body, "accepted"); }

}  // namespace

class AbuseRecordsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AbuseRecordsTest);
    CPPUNIT_TEST(get_values_naming_a_value_four_times_is_answered_once);
    CPPUNIT_TEST(get_values_followed_by_nothing_is_answered_at_once);
    CPPUNIT_TEST(one_record_of_any_type_then_silence_holds_no_thread);
    CPPUNIT_TEST(records_trickled_in_hold_no_thread_and_are_closed_at_the_io_timeout);
    CPPUNIT_TEST(a_flood_of_records_nobody_reads_holds_no_thread_and_is_closed_at_the_io_timeout);
    CPPUNIT_TEST(authorizer_and_filter_get_unknown_role_and_run_nothing);
    CPPUNIT_TEST(abort_before_the_request_is_whole_is_answered_and_the_connection_goes_on);
    CPPUNIT_TEST_SUITE_END();

public:
    void get_values_naming_a_value_four_times_is_answered_once() {
        // libfcgi 2.4.2 wrote the answer to four FCGI_MAX_CONNS past its 64-byte buffer on
        // the next read: stack smashing, SIGABRT.
        DemoProcess demo({"--threads", "1"});
        const FcgiParams four(4, {"FCGI_MAX_CONNS", ""});
        FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
        c.send_raw(fcgi_record(kFcgiGetValues, 0, fcgi_encode_params(four)) + get_request(1, false));
        FcgiOutcome o = fcgi_outcome(c, kBound);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        CPPUNIT_ASSERT(!demo.process().exited());
        CPPUNIT_ASSERT(o.has_type(kFcgiGetValuesResult));
        CPPUNIT_ASSERT(FcgiParams({{"FCGI_MAX_CONNS", "1"}}) == fcgi_decode_params(o.records.front().content));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), o.body());
    }

    void get_values_followed_by_nothing_is_answered_at_once() {
        // HAProxy's `option get-values` waits for the answer before it sends a request.
        DemoProcess demo({"--threads", "3", "--io-timeout", "30s"});
        FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
        c.send_raw(fcgi_record(kFcgiGetValues, 0,
                               fcgi_encode_params({{"FCGI_MAX_REQS", ""}, {"FCGI_MPXS_CONNS", ""}, {"X_UNKNOWN", ""}})));
        // At once: well within the io timeout, and with nothing more sent.
        const std::optional<FcgiRecord> got = c.read_record(std::chrono::seconds(2));
        CPPUNIT_ASSERT_MESSAGE("no FCGI_GET_VALUES_RESULT within 2 s", got.has_value());
        const FcgiRecord answer = *got;
        CPPUNIT_ASSERT_EQUAL(kFcgiGetValuesResult, answer.type);
        const FcgiParams expected = {{"FCGI_MAX_REQS", "3"}, {"FCGI_MPXS_CONNS", "0"}};
        const FcgiParams got_values = fcgi_decode_params(answer.content);
        std::string text;
        for (const auto& nv : got_values) text += nv.first + "=" + nv.second + " ";
        CPPUNIT_ASSERT_MESSAGE(text, expected == got_values);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), c.request(cgi_params("GET", "/"), "", true).body);
    }

    void one_record_of_any_type_then_silence_holds_no_thread() {
        // One thread and a 30 s io timeout: a peer holding the thread would make the GET
        // below fail at the client's 10 s.
        DemoProcess demo({"--threads", "1", "--io-timeout", "30s"});
        std::vector<std::unique_ptr<FcgiConnection>> waiting;
        for (std::uint8_t type = 1; type <= 12; ++type) {
            for (std::uint16_t id : {std::uint16_t(0), std::uint16_t(1)}) {
                const std::string content = type == kFcgiBeginRequest ? fcgi_begin_request(id, true).substr(8) : "x";
                waiting.emplace_back(new FcgiConnection(FcgiConnection::connect_unix(demo.socket_path())));
                waiting.back()->send_raw(fcgi_record(type == 12 ? 42 : type, id, content));
                CPPUNIT_ASSERT_EQUAL_MESSAGE("type " + std::to_string(type) + ", id " + std::to_string(id),
                                             std::string("hello\n"), demo.get("/").body);
            }
        }
    }

    void records_trickled_in_hold_no_thread_and_are_closed_at_the_io_timeout() {
        // A record nobody reads (here: FCGI_ABORT_REQUEST for a request not open) every
        // 0.7 s kept a thread for ever when --io-timeout bounded each read. It bounds the
        // whole request now, and the thread is never held.
        DemoProcess demo({"--threads", "1", "--io-timeout", "2s"});
        FcgiConnection trickle = FcgiConnection::connect_unix(demo.socket_path());
        std::atomic<int> sent{0};
        std::atomic<bool> closed{false};
        const auto start = std::chrono::steady_clock::now();
        std::atomic<long long> closed_after_ms{0};
        std::thread sender([&] {
            while (std::chrono::steady_clock::now() - start < kBound) {
                try {
                    trickle.send_raw(fcgi_record(kFcgiAbortRequest, 9, ""));
                } catch (const FcgiError&) {
                }
                ++sent;
                if (trickle.peer_closed(std::chrono::milliseconds(700))) {  // the pace of the trickle
                    closed_after_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - start).count();
                    closed = true;
                    return;
                }
            }
        });
        // No assertion may leave before the join: the sender would outlive the test.
        const bool trickling = eventually([&] { return sent.load() >= 2; }, kBound);
        const auto asked = std::chrono::steady_clock::now();
        std::string body;
        try {
            FcgiConnection other = FcgiConnection::connect_unix(demo.socket_path());
            other.set_timeout(std::chrono::milliseconds(1000));
            body = other.request(cgi_params("GET", "/")).body;
        } catch (const FcgiError&) {
        }
        const auto waited = std::chrono::steady_clock::now() - asked;
        sender.join();
        CPPUNIT_ASSERT(trickling);
        CPPUNIT_ASSERT_EQUAL_MESSAGE("a GET / while the trickle went on", std::string("hello\n"), body);
        CPPUNIT_ASSERT(waited < std::chrono::milliseconds(1000));
        CPPUNIT_ASSERT_MESSAGE("the trickling connection was never closed", closed.load());
        CPPUNIT_ASSERT_MESSAGE(std::to_string(closed_after_ms.load()) + " ms",
                               closed_after_ms.load() >= 1900 && closed_after_ms.load() < 5000);
        CPPUNIT_ASSERT(demo.process().wait_for_log(
            "closed a connection: no complete request within --io-timeout (before its FCGI_BEGIN_REQUEST)", kBound));
    }

    void a_flood_of_records_nobody_reads_holds_no_thread_and_is_closed_at_the_io_timeout() {
        // Records of a request that is not open, as fast as the socket takes them: the
        // socket never runs dry, so reading "until there is nothing more" would never end.
        DemoProcess demo({"--threads", "1", "--io-timeout", "1s"});
        // A send that timed out part way would break the framing: the server reads on, so
        // a send waits only for its turn.
        FcgiConnection flood = FcgiConnection::connect_unix(demo.socket_path());
        flood.set_timeout(std::chrono::seconds(5));
        std::atomic<int> sent{0};
        std::atomic<bool> closed{false};
        std::thread sender([&] {
            const std::string record = fcgi_record(kFcgiStdin, 7, std::string(16384, 'f'));
            const auto deadline = std::chrono::steady_clock::now() + kBound;
            while (std::chrono::steady_clock::now() < deadline) {
                try {
                    flood.send_raw(record);
                    ++sent;
                } catch (const FcgiError&) {
                    if (flood.peer_closed(std::chrono::milliseconds(0))) {
                        closed = true;
                        return;
                    }
                }
            }
        });
        // No assertion may leave before the join: the sender would outlive the test.
        const bool flooding = eventually([&] { return sent.load() >= 128; }, kBound);  // 2 MiB
        std::string body;
        try {
            FcgiConnection other = FcgiConnection::connect_unix(demo.socket_path());
            other.set_timeout(std::chrono::milliseconds(2000));
            body = other.request(cgi_params("GET", "/")).body;
        } catch (const FcgiError&) {
        }
        sender.join();
        CPPUNIT_ASSERT(flooding);
        CPPUNIT_ASSERT_EQUAL_MESSAGE("a GET / while the flood went on", std::string("hello\n"), body);
        CPPUNIT_ASSERT_MESSAGE("the flooding connection was never closed", closed.load());
        // Its stage depends on where the last read ended: between records or inside one.
        CPPUNIT_ASSERT_MESSAGE(demo.log(), demo.process().wait_for_log(
                                               "closed a connection: no complete request within --io-timeout", kBound));
    }

    void authorizer_and_filter_get_unknown_role_and_run_nothing() {
        DemoProcess demo({"--threads", "1"});
        for (std::uint16_t role : {kFcgiAuthorizer, kFcgiFilter}) {
            const std::string uri = "/work?ms=0&id=role" + std::to_string(role);
            FcgiConnection once = FcgiConnection::connect_unix(demo.socket_path());
            once.send_raw(get_request(1, false, uri, role));
            FcgiOutcome o = fcgi_outcome(once, kBound);
            CPPUNIT_ASSERT_EQUAL(int(kFcgiUnknownRole), o.protocol_status());
            CPPUNIT_ASSERT_EQUAL(0, o.status());
            CPPUNIT_ASSERT(o.closed);
            // A kept connection is answered the same way and serves on.
            FcgiConnection kept = FcgiConnection::connect_unix(demo.socket_path());
            kept.send_raw(get_request(1, true, uri, role));
            const FcgiRecord end = next_record(kept);
            CPPUNIT_ASSERT_EQUAL(kFcgiEndRequest, end.type);
            CPPUNIT_ASSERT_EQUAL(int(kFcgiUnknownRole), int(static_cast<std::uint8_t>(end.content[4])));
            CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), kept.request(cgi_params("GET", "/"), "", true, 2).body);
        }
        CPPUNIT_ASSERT_EQUAL(0LL, jobs_accepted(demo));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), demo.done_lines());
    }

    void abort_before_the_request_is_whole_is_answered_and_the_connection_goes_on() {
        // HAProxy sends FCGI_ABORT_REQUEST when its client goes away. Before the end of the
        // params, and before the end of the body.
        DemoProcess demo({"--threads", "1"});
        FcgiParams params = cgi_params("POST", "/work?ms=0&id=aborted", 10);
        const std::string begun = fcgi_begin_request(1, true) + fcgi_record(kFcgiParams, 1, fcgi_encode_params(params));
        const std::string in_body = begun + fcgi_record(kFcgiParams, 1, "") + fcgi_record(kFcgiStdin, 1, "abc");
        for (const std::string& before : {begun, in_body}) {
            FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
            c.send_raw(before + fcgi_record(kFcgiAbortRequest, 1, ""));
            const FcgiRecord end = next_record(c);
            CPPUNIT_ASSERT_EQUAL(kFcgiEndRequest, end.type);
            CPPUNIT_ASSERT_EQUAL(std::uint16_t(1), end.request_id);
            CPPUNIT_ASSERT_EQUAL(int(kFcgiRequestComplete), int(static_cast<std::uint8_t>(end.content[4])));
            CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), c.request(cgi_params("GET", "/"), "", true, 2).body);
        }
        CPPUNIT_ASSERT_EQUAL(0LL, jobs_accepted(demo));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(AbuseRecordsTest, "integration");
