// fcgihost-demo as a real process over a real unix socket: the routes of docs/contract.md#demo,
// keep-alive, body limits, status, and what the demo does with bad requests.
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

using namespace fcgihost::testing_support;

class DemoServeTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoServeTest);
    CPPUNIT_TEST(root_answers_hello);
    CPPUNIT_TEST(echo_round_trips_a_100k_body);
    CPPUNIT_TEST(kept_connection_serves_many_requests);
    CPPUNIT_TEST(body_over_the_limit_gets_413_and_the_process_serves_on);
    CPPUNIT_TEST(work_answers_202_before_the_job_runs);
    CPPUNIT_TEST(full_queue_answers_503);
    CPPUNIT_TEST(failing_job_is_counted_and_the_process_serves_on);
    CPPUNIT_TEST(status_answers_json_and_prometheus);
    CPPUNIT_TEST(bad_work_arguments_get_400);
    CPPUNIT_TEST(malformed_fastcgi_is_closed_and_logged);
    CPPUNIT_TEST_SUITE_END();

public:
    void root_answers_hello() {
        DemoProcess demo;
        FcgiResponse r = demo.get("/");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), r.body);
        CPPUNIT_ASSERT(r.header("Content-Type").find("text/plain") == 0);
    }

    void echo_round_trips_a_100k_body() {
        DemoProcess demo;
        std::string body;
        for (int i = 0; i < 100 * 1024; ++i) body += static_cast<char>(i * 7 % 251);
        FcgiResponse r = demo.post("/echo", body);
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT(r.body == body);
    }

    void kept_connection_serves_many_requests() {
        DemoProcess demo({"--threads", "1"});
        // Two kept connections and one request thread: an idle kept connection must not
        // hold the thread, or the second connection would wait for the io timeout.
        FcgiConnection a = FcgiConnection::connect_unix(demo.socket_path());
        FcgiConnection b = FcgiConnection::connect_unix(demo.socket_path());
        a.set_timeout(std::chrono::seconds(5));
        b.set_timeout(std::chrono::seconds(5));
        for (int i = 0; i < 5; ++i) {
            CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), a.request(cgi_params("GET", "/"), "", true).body);
            CPPUNIT_ASSERT_EQUAL(std::string("x") + std::to_string(i),
                                 b.request(cgi_params("POST", "/echo", 2), "x" + std::to_string(i), true).body);
        }
    }

    void body_over_the_limit_gets_413_and_the_process_serves_on() {
        DemoProcess demo({"--max-body", "1k"});
        FcgiResponse r = demo.post("/echo", std::string(1025, 'a'));
        CPPUNIT_ASSERT_EQUAL(413, r.status);
        CPPUNIT_ASSERT_EQUAL(200, demo.post("/echo", std::string(1024, 'a')).status);
        CPPUNIT_ASSERT(demo.log().find("body over --max-body") != std::string::npos);
    }

    void work_answers_202_before_the_job_runs() {
        DemoProcess demo;
        FcgiResponse r = demo.get("/work?ms=2000&id=w1");
        CPPUNIT_ASSERT_EQUAL(202, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("{\"id\":\"w1\",\"queued\":true}\n"), r.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), demo.done_lines());
        CPPUNIT_ASSERT(wait_for_file_text(demo.job_log(), "done w1\n", std::chrono::seconds(20)));
    }

    void full_queue_answers_503() {
        DemoProcess demo({"--workers", "1", "--queue-capacity", "1", "--drain-timeout", "10ms", "--cancel-grace", "5s"});
        // One job runs, one waits; with the worker slow to pick up, the second may already
        // be the one refused. Either way some request of three must be.
        int refused = 0;
        std::string reason;
        for (int i = 0; i < 3; ++i) {
            FcgiResponse r = demo.get("/work?ms=60000&id=q" + std::to_string(i));
            if (r.status == 503) {
                ++refused;
                reason = r.body;
            } else {
                CPPUNIT_ASSERT_EQUAL(202, r.status);
            }
        }
        CPPUNIT_ASSERT(refused >= 1);
        CPPUNIT_ASSERT(reason.find("\"reason\":\"full\"") != std::string::npos);
        CPPUNIT_ASSERT(status_number(demo.get("/status").body, "rejected_full") == refused);
        CPPUNIT_ASSERT(demo.log().find("rejected: queue full") != std::string::npos);
    }

    void failing_job_is_counted_and_the_process_serves_on() {
        DemoProcess demo;
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/fail?id=f1").status);
        CPPUNIT_ASSERT(eventually([&] { return status_number(demo.get("/status").body, "failed") == 1; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT(demo.log().find("job fail:f1 failed: job f1 failed on purpose") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=after").status);
        CPPUNIT_ASSERT(wait_for_file_text(demo.job_log(), "done after\n", std::chrono::seconds(10)));
    }

    void status_answers_json_and_prometheus() {
        DemoProcess demo;
        demo.get("/");
        FcgiResponse json = demo.get("/status");
        CPPUNIT_ASSERT_EQUAL(200, json.status);
        CPPUNIT_ASSERT_EQUAL(std::string("application/json"), json.header("Content-Type"));
        CPPUNIT_ASSERT(json.body.find("\"state\":\"running\"") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(json.body, status_number(json.body, "served") >= 1);
        FcgiResponse prom = demo.get("/status?format=prometheus");
        CPPUNIT_ASSERT(prom.body.find("fcgihost_state{state=\"running\"} 1") != std::string::npos);
        CPPUNIT_ASSERT(prom.body.find("# TYPE fcgihost_jobs_completed_total counter") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("pong\n"), demo.get("/ping").body);
    }

    void bad_work_arguments_get_400() {
        DemoProcess demo;
        CPPUNIT_ASSERT_EQUAL(400, demo.get("/work?ms=abc").status);
        CPPUNIT_ASSERT_EQUAL(400, demo.get("/work?ms=5&id=a%22b").status);
        CPPUNIT_ASSERT_EQUAL(400, demo.get("/work?ms=%zz").status);
        CPPUNIT_ASSERT_EQUAL(404, demo.get("/nope").status);
        CPPUNIT_ASSERT_EQUAL(405, demo.post("/work?ms=1", "").status);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), demo.done_lines());
    }

    void malformed_fastcgi_is_closed_and_logged() {
        DemoProcess demo;
        FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
        c.send_raw(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        CPPUNIT_ASSERT(c.peer_closed(std::chrono::seconds(10)));
        CPPUNIT_ASSERT(demo.process().wait_for_log("malformed", std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoServeTest, "integration");
