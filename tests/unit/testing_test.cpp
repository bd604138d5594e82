// The testing kit itself: what RequestBuilder sends, how run() maps failures, and how
// ManualQueue holds, refuses and runs jobs.
#include "fcgihost/testing.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <stdexcept>

using namespace fcgihost;
using namespace fcgihost::testing;

class TestingKitTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TestingKitTest);
    CPPUNIT_TEST(builder_sends_what_a_web_server_would);
    CPPUNIT_TEST(run_maps_failures_like_the_server);
    CPPUNIT_TEST(manual_queue_runs_in_order_including_chained_jobs);
    CPPUNIT_TEST(manual_queue_refuses_when_full_or_stopping);
    CPPUNIT_TEST(jobs_see_the_token_the_test_drives);
    CPPUNIT_TEST_SUITE_END();

public:
    void builder_sends_what_a_web_server_would() {
        Request r = RequestBuilder("POST", "/a%20b?x=1&y=two+words")
                        .header("X-Trace-Id", "t-1")
                        .body("data", "text/plain")
                        .remote_addr("10.0.0.9")
                        .param("SERVER_NAME", "example");
        CPPUNIT_ASSERT_EQUAL(std::string("POST"), r.method());
        CPPUNIT_ASSERT_EQUAL(std::string("/a b"), r.path());
        CPPUNIT_ASSERT_EQUAL(std::string("two words"), r.query("y"));
        CPPUNIT_ASSERT_EQUAL(std::string("t-1"), r.header("x-trace-id"));
        CPPUNIT_ASSERT_EQUAL(std::string("text/plain"), r.header("Content-Type"));
        CPPUNIT_ASSERT_EQUAL(std::string("4"), r.param("CONTENT_LENGTH"));
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.9"), r.remote_addr());
        CPPUNIT_ASSERT_EQUAL(std::string("example"), r.param("SERVER_NAME"));
        CPPUNIT_ASSERT_EQUAL(std::string("data"), r.body());
        CPPUNIT_ASSERT_EQUAL(std::string(""), RequestBuilder("GET", "/").build().param("CONTENT_LENGTH"));
    }

    void run_maps_failures_like_the_server() {
        Router router;
        router.get("/throw", [](const Request&) -> Response { throw std::runtime_error("secret"); });
        router.get("/bad", [](const Request&) -> Response { throw RequestError(422, "nope"); });
        Response thrown = run(router, RequestBuilder("GET", "/throw"));
        CPPUNIT_ASSERT_EQUAL(500, thrown.status());
        CPPUNIT_ASSERT(thrown.body().find("secret") == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(422, run(router, RequestBuilder("GET", "/bad")).status());
        CPPUNIT_ASSERT_EQUAL(400, run(router, RequestBuilder("GET", "/bad%zz")).status());
        CPPUNIT_ASSERT_THROW(RequestBuilder("GET", "/bad%zz").build(), RequestError);
    }

    void manual_queue_runs_in_order_including_chained_jobs() {
        ManualQueue jobs;
        std::string trace;
        jobs.queue("a", [&](const CancellationToken&) {
            trace += "a";
            jobs.queue("c", [&](const CancellationToken&) { trace += "c"; });
        });
        jobs.queue("b", [&](const CancellationToken&) { trace += "b"; });
        CPPUNIT_ASSERT_EQUAL(std::string(""), trace);  // nothing runs until asked
        CPPUNIT_ASSERT(jobs.run_next());
        CPPUNIT_ASSERT_EQUAL(std::string("a"), trace);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), jobs.run_all());
        CPPUNIT_ASSERT_EQUAL(std::string("abc"), trace);
        CPPUNIT_ASSERT(!jobs.run_next());
        jobs.queue("d", [&](const CancellationToken&) { trace += "d"; });
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.discard_all());
        CPPUNIT_ASSERT_EQUAL(std::string("abc"), trace);
    }

    void manual_queue_refuses_when_full_or_stopping() {
        ManualQueue jobs;
        auto noop = [](const CancellationToken&) {};
        jobs.set_capacity(1);
        CPPUNIT_ASSERT(jobs.queue("1", noop) == QueueResult::accepted);
        CPPUNIT_ASSERT(jobs.queue("2", noop) == QueueResult::full);
        jobs.set_stopping(true);
        CPPUNIT_ASSERT(jobs.queue("3", noop) == QueueResult::stopping);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), jobs.rejected());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs.names().size());
    }

    void jobs_see_the_token_the_test_drives() {
        ManualQueue jobs;
        std::vector<TokenLevel> seen;
        for (int i = 0; i < 3; ++i) jobs.queue("t", [&](const CancellationToken& t) { seen.push_back(t.level()); });
        jobs.run_next();
        jobs.tokens().request_stop();
        jobs.run_next();
        jobs.tokens().cancel();
        jobs.run_next();
        CPPUNIT_ASSERT(seen == std::vector<TokenLevel>({TokenLevel::running, TokenLevel::stopping, TokenLevel::cancelled}));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(TestingKitTest, "unit");
