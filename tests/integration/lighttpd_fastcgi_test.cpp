// docs/deploy/lighttpd.conf with a real lighttpd (mod_fastcgi) in front of a real
// fcgihost-demo: hello, a 1 MiB echo, a job and its done line, 300 requests in a row, a 404,
// the status page kept local, and a graceful stop of the demo under load.
#include "integration/frontend_checks.hpp"
#include "support/http_client.hpp"
#include "support/lighttpd_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <memory>
#include <string>

using namespace fcgihost::testing_support;

class LighttpdFastcgiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LighttpdFastcgiTest);
    CPPUNIT_TEST(root_answers_hello);
    CPPUNIT_TEST(echo_round_trips_one_mib);
    CPPUNIT_TEST(a_body_over_the_limit_is_refused_by_lighttpd);
    CPPUNIT_TEST(work_writes_its_done_line);
    CPPUNIT_TEST(three_hundred_in_a_row);
    CPPUNIT_TEST(unknown_route_is_404);
    CPPUNIT_TEST(status_answers_local_clients_only);
    CPPUNIT_TEST(graceful_stop_under_load);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        demo_.reset(new FrontDemo(lighttpd_user()));
        lighttpd_.reset(new LighttpdProcess(demo_->socket_path()));
    }

    void tearDown() override {
        lighttpd_.reset();
        demo_.reset();
    }

    void root_answers_hello() { check_hello(client()); }
    void echo_round_trips_one_mib() { check_echo_one_mib(client()); }

    // server.max-request-size matches --max-body: one byte over it never reaches the demo.
    void a_body_over_the_limit_is_refused_by_lighttpd() {
        FrontReply r = client()()("POST", "/echo", std::string(1024 * 1024 + 1, 'x'));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.error, 413, r.status);
        CPPUNIT_ASSERT_MESSAGE(demo_->log(), demo_->log().find("max-body") == std::string::npos);
    }

    void work_writes_its_done_line() { check_job_done(client(), demo_->job_log(), "lx1"); }
    void three_hundred_in_a_row() { check_sequential(client(), 300); }
    void unknown_route_is_404() { check_not_found(client()); }

    void status_answers_local_clients_only() {
        CPPUNIT_ASSERT_EQUAL(200, client()()("GET", "/status", "").status);
        for (const char* target : {"/status", "/ping", "/%73tatus", "/status/x"}) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(target, 403,
                                         http_status_from("127.0.0.2", lighttpd_->host(), lighttpd_->port(), target));
        }
        CPPUNIT_ASSERT_EQUAL(200, http_status_from("127.0.0.2", lighttpd_->host(), lighttpd_->port(), "/"));
    }

    // lighttpd answers 503 once the socket path is gone (and for disable-time after that).
    void graceful_stop_under_load() { check_graceful_stop("lighttpd", client(), *demo_, {503}); }

private:
    FrontClient client() const {
        return http_front_client(lighttpd_->host(), lighttpd_->port(), std::chrono::seconds(30));
    }

    std::unique_ptr<FrontDemo> demo_;
    std::unique_ptr<LighttpdProcess> lighttpd_;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(LighttpdFastcgiTest, "integration");
