// docs/deploy/Caddyfile with a real Caddy (reverse_proxy, FastCGI transport) in front of a real
// fcgihost-demo: hello, a 1 MiB echo, a job and its done line, 300 requests in a row, a 404,
// the status page kept local, and a graceful stop of the demo under load.
#include "integration/frontend_checks.hpp"
#include "support/http_client.hpp"
#include "support/caddy_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <memory>
#include <string>

using namespace fcgihost::testing_support;

class CaddyFastcgiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CaddyFastcgiTest);
    CPPUNIT_TEST(root_answers_hello);
    CPPUNIT_TEST(echo_round_trips_one_mib);
    CPPUNIT_TEST(a_body_over_the_limit_is_refused_by_the_demo);
    CPPUNIT_TEST(work_writes_its_done_line);
    CPPUNIT_TEST(three_hundred_in_a_row);
    CPPUNIT_TEST(unknown_route_is_404);
    CPPUNIT_TEST(status_answers_local_clients_only);
    CPPUNIT_TEST(graceful_stop_under_load);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        demo_.reset(new FrontDemo(caddy_user()));
        caddy_.reset(new CaddyProcess(demo_->socket_path()));
    }

    void tearDown() override {
        caddy_.reset();
        demo_.reset();
    }

    void root_answers_hello() { check_hello(client()); }
    void echo_round_trips_one_mib() { check_echo_one_mib(client()); }

    // Caddy forwards the body; the demo's --max-body answers 413 without reading it.
    void a_body_over_the_limit_is_refused_by_the_demo() {
        FrontReply r = client()()("POST", "/echo", std::string(1024 * 1024 + 1, 'x'));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.error, 413, r.status);
        CPPUNIT_ASSERT_MESSAGE(demo_->log(), demo_->process().wait_for_log("body over --max-body", std::chrono::seconds(10)));
        check_hello(client());
    }

    void work_writes_its_done_line() { check_job_done(client(), demo_->job_log(), "cx1"); }
    void three_hundred_in_a_row() { check_sequential(client(), 300); }
    void unknown_route_is_404() { check_not_found(client()); }

    void status_answers_local_clients_only() {
        CPPUNIT_ASSERT_EQUAL(200, client()()("GET", "/status", "").status);
        for (const char* target : {"/status", "/ping", "/%73tatus", "/status/x"}) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(target, 403,
                                         http_status_from("127.0.0.2", caddy_->host(), caddy_->port(), target));
        }
        CPPUNIT_ASSERT_EQUAL(200, http_status_from("127.0.0.2", caddy_->host(), caddy_->port(), "/"));
    }

    // Caddy answers 502 once the socket path is gone.
    void graceful_stop_under_load() { check_graceful_stop("Caddy", client(), *demo_, {502}); }

private:
    FrontClient client() const {
        return http_front_client(caddy_->host(), caddy_->port(), std::chrono::seconds(30));
    }

    std::unique_ptr<FrontDemo> demo_;
    std::unique_ptr<CaddyProcess> caddy_;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(CaddyFastcgiTest, "integration");
