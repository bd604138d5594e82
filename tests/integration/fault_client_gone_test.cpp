// Writing a response to a web server that is no longer there, against a real fcgihost-demo:
// one that closed its end mid-response (EPIPE/ECONNRESET, never a SIGPIPE death), and one
// that stays connected but stops reading (the write times out at --io-timeout). Each is
// logged, frees its thread, and the process serves on.
#include "integration/demo_process.hpp"
#include "support/log_text.hpp"

#include <cppunit/extensions/HelperMacros.h>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kBound = std::chrono::seconds(10);  // far above --io-timeout: reached only when wedged
const std::string kBigBody(900 * 1024, 'e');       // far more than a socket buffer holds

}  // namespace

class FaultClientGoneTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FaultClientGoneTest);
    CPPUNIT_TEST(a_client_gone_mid_response_is_logged_and_nothing_dies);
    CPPUNIT_TEST(a_client_that_stops_reading_frees_the_thread_at_the_io_timeout);
    CPPUNIT_TEST_SUITE_END();

public:
    void a_client_gone_mid_response_is_logged_and_nothing_dies() {
        DemoProcess demo({"--threads", "1"});
        for (bool keep : {false, true}) {
            FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
            c.send_raw(fcgi_request_bytes(cgi_params("POST", "/echo", kBigBody.size()), kBigBody, keep, 1));
            c.read_record(kBound);  // the answer has begun
            c.close();
        }
        CPPUNIT_ASSERT(eventually([&] { return occurrences(demo.log(), "response to POST /echo not delivered") == 2; },
                                  kBound));
        CPPUNIT_ASSERT(!demo.process().exited());
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        CPPUNIT_ASSERT_EQUAL(kBigBody.size(), demo.post("/echo", kBigBody).body.size());
    }

    void a_client_that_stops_reading_frees_the_thread_at_the_io_timeout() {
        DemoProcess demo({"--threads", "1", "--io-timeout", "300ms"});
        FcgiConnection stalled = FcgiConnection::connect_unix(demo.socket_path());
        stalled.send_raw(fcgi_request_bytes(cgi_params("POST", "/echo", kBigBody.size()), kBigBody, false, 1));
        CPPUNIT_ASSERT(demo.process().wait_for_log(
            "response to POST /echo not delivered: no progress within --io-timeout", kBound));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(FaultClientGoneTest, "integration");
