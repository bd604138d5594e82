// docs/deploy/haproxy.cfg with a real HAProxy (its own FastCGI client, fcgi-app) in front of
// a real fcgihost-demo, in four variants of the fcgi-app section: HAProxy's defaults, the
// sample as it is (option keep-conn), plus option mpxs-conns (which the docs say never to
// set), and plus option get-values. Each variant: hello, a 1 MiB echo, a job and its done
// line, 300 requests in a row on one kept connection, a 404, the status page kept local, and
// a graceful stop of the demo under load.
#include "integration/frontend_checks.hpp"
#include "support/haproxy_process.hpp"
#include "support/http_client.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <memory>
#include <string>

using namespace fcgihost::testing_support;

namespace {

// What a client may see after the demo's SIGTERM: HAProxy answers 503 once the socket path is
// gone (its connects fail) and 502 for a request on a kept connection the demo closed.
const std::set<int> kAfterStop = {502, 503};

}  // namespace

class HaproxyCase : public CppUnit::TestFixture {
public:
    void setUp() override {
        demo_.reset(new FrontDemo(haproxy_user()));
        haproxy_.reset(new HaproxyProcess(demo_->socket_path(), variant()));
    }

    void tearDown() override {
        haproxy_.reset();
        demo_.reset();
    }

    void root_answers_hello() { check_hello(client()); }
    void echo_round_trips_one_mib() { check_echo_one_mib(client()); }
    void work_writes_its_done_line() { check_job_done(client(), demo_->job_log(), "hx1"); }
    void three_hundred_in_a_row() { check_sequential(client(), 300); }
    void unknown_route_is_404() { check_not_found(client()); }

    void status_answers_local_clients_only() {
        CPPUNIT_ASSERT_EQUAL(200, client()()("GET", "/status", "").status);
        for (const char* target : {"/status", "/ping", "/%73tatus", "/status/x"}) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(target, 403,
                                         http_status_from("127.0.0.2", haproxy_->host(), haproxy_->port(), target));
        }
        CPPUNIT_ASSERT_EQUAL(200, http_status_from("127.0.0.2", haproxy_->host(), haproxy_->port(), "/"));
    }

    void graceful_stop_under_load() {
        check_graceful_stop("HAProxy " + variant_name(), client(), *demo_, kAfterStop);
    }

    // Every check in a row, for a variant that is expected to fail at the first one.
    void every_check_in_a_row() {
        root_answers_hello();
        echo_round_trips_one_mib();
        work_writes_its_done_line();
        unknown_route_is_404();
        three_hundred_in_a_row();
        graceful_stop_under_load();
    }

protected:
    virtual HaproxyFcgiApp variant() const = 0;
    virtual std::string variant_name() const = 0;
    // How long a client waits for one answer.
    virtual std::chrono::milliseconds request_limit() const { return std::chrono::seconds(30); }

    FrontClient client() const { return http_front_client(haproxy_->host(), haproxy_->port(), request_limit()); }

    std::unique_ptr<FrontDemo> demo_;
    std::unique_ptr<HaproxyProcess> haproxy_;
};

#define HAPROXY_CHECKS(Fixture)                      \
    CPPUNIT_TEST(root_answers_hello);                \
    CPPUNIT_TEST(echo_round_trips_one_mib);          \
    CPPUNIT_TEST(work_writes_its_done_line);         \
    CPPUNIT_TEST(three_hundred_in_a_row);            \
    CPPUNIT_TEST(unknown_route_is_404);              \
    CPPUNIT_TEST(status_answers_local_clients_only); \
    CPPUNIT_TEST(graceful_stop_under_load)

class HaproxyDefaultsTest : public HaproxyCase {
    CPPUNIT_TEST_SUITE(HaproxyDefaultsTest);
    HAPROXY_CHECKS(HaproxyDefaultsTest);
    CPPUNIT_TEST_SUITE_END();

protected:
    HaproxyFcgiApp variant() const override { return HaproxyFcgiApp::defaults; }
    std::string variant_name() const override { return "fcgi-app defaults"; }
};

class HaproxyKeepConnTest : public HaproxyCase {
    CPPUNIT_TEST_SUITE(HaproxyKeepConnTest);
    HAPROXY_CHECKS(HaproxyKeepConnTest);
    CPPUNIT_TEST_SUITE_END();

protected:
    HaproxyFcgiApp variant() const override { return HaproxyFcgiApp::keep_conn; }
    std::string variant_name() const override { return "option keep-conn (the sample)"; }
};

class HaproxyMpxsConnsTest : public HaproxyCase {
    CPPUNIT_TEST_SUITE(HaproxyMpxsConnsTest);
    HAPROXY_CHECKS(HaproxyMpxsConnsTest);
    CPPUNIT_TEST_SUITE_END();

protected:
    HaproxyFcgiApp variant() const override { return HaproxyFcgiApp::mpxs_conns; }
    std::string variant_name() const override { return "option mpxs-conns"; }
};

// HAProxy sends FCGI_GET_VALUES first on every new connection and waits for the answer
// before the request. A few seconds per request: a responder that never answers fails this
// at the first check instead of after HAProxy's 60 s.
class HaproxyGetValuesTest : public HaproxyCase {
    CPPUNIT_TEST_SUITE(HaproxyGetValuesTest);
    CPPUNIT_TEST(every_check_in_a_row);
    CPPUNIT_TEST_SUITE_END();

protected:
    HaproxyFcgiApp variant() const override { return HaproxyFcgiApp::get_values; }
    std::string variant_name() const override { return "option get-values"; }
    std::chrono::milliseconds request_limit() const override { return std::chrono::seconds(3); }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(HaproxyDefaultsTest, "integration");
CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(HaproxyKeepConnTest, "integration");
CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(HaproxyMpxsConnsTest, "integration");
CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(HaproxyGetValuesTest, "integration");
