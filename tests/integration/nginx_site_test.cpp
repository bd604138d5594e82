// The site config users copy (nginx/fcgihost.conf) with a real nginx in front of a real
// fcgihost-demo: the demo's routes through it, the body limit nginx enforces, a job's 202
// ahead of its work, and the status and ping pages kept to local clients.
#include "integration/demo_process.hpp"
#include "support/http_client.hpp"
#include "support/nginx_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

using namespace fcgihost::testing_support;

namespace {

const std::size_t kMaxBody = 1024 * 1024;  // client_max_body_size 1m, and the demo's --max-body 1M

// Every byte value, in an order that is not a plain repeat.
std::string binary_body(std::size_t size) {
    std::string body(size, '\0');
    for (std::size_t i = 0; i < size; ++i) body[i] = static_cast<char>((i * 131 + i / 256) % 256);
    return body;
}

}  // namespace

class NginxSiteTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(NginxSiteTest);
    CPPUNIT_TEST(root_answers_hello);
    CPPUNIT_TEST(echo_round_trips_a_100k_body_byte_exact);
    CPPUNIT_TEST(nginx_refuses_a_body_over_max_body_itself);
    CPPUNIT_TEST(work_answers_202_before_its_done_line);
    CPPUNIT_TEST(status_and_ping_answer_local_clients_only);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        demo_.reset(new DemoProcess());
        nginx_.reset(new NginxProcess(demo_->socket_path()));
    }

    // Both stopped by PID, nginx first so that no request is on its way; whatever setUp
    // managed to start is stopped even when it failed half-way.
    void tearDown() override {
        const int nginx_exit = nginx_ ? nginx_->stop() : 0;
        const std::string error_log = nginx_ ? nginx_->error_log() : "";
        const int demo_exit = demo_ ? demo_->stop(SIGTERM) : 0;
        nginx_.reset();
        demo_.reset();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(error_log, 0, nginx_exit);
        CPPUNIT_ASSERT_EQUAL(0, demo_exit);
    }

    void root_answers_hello() {
        HttpResponse r = get("/");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), r.body);
        CPPUNIT_ASSERT_MESSAGE(r.header("Content-Type"), r.header("Content-Type").find("text/plain") == 0);
    }

    void echo_round_trips_a_100k_body_byte_exact() {
        std::string body = binary_body(100 * 1024);
        HttpResponse r = http_post(nginx_->host(), nginx_->port(), "/echo", body);
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(body.size(), r.body.size());
        CPPUNIT_ASSERT_MESSAGE("the echoed body differs", r.body == body);
    }

    // client_max_body_size matches --max-body: a body of exactly the limit passes both,
    // one byte more is refused by nginx before any of it reaches the responder.
    void nginx_refuses_a_body_over_max_body_itself() {
        std::string at_limit = binary_body(kMaxBody);
        HttpResponse passed = http_post(nginx_->host(), nginx_->port(), "/echo", at_limit);
        CPPUNIT_ASSERT_EQUAL(200, passed.status);
        CPPUNIT_ASSERT_MESSAGE("the echoed body differs", passed.body == at_limit);

        HttpResponse refused = http_post(nginx_->host(), nginx_->port(), "/echo", at_limit + "x");
        CPPUNIT_ASSERT_EQUAL(413, refused.status);
        CPPUNIT_ASSERT_MESSAGE(refused.body, refused.body.find("413 Request Entity Too Large") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(demo_->log(), demo_->log().find("body over --max-body") == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), get("/").body);
    }

    void work_answers_202_before_its_done_line() {
        HttpResponse r = get("/work?ms=2000&id=slow");
        std::size_t done_at_202 = count_exact_lines(demo_->job_log(), "done slow");
        CPPUNIT_ASSERT_EQUAL(202, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("{\"id\":\"slow\",\"queued\":true}\n"), r.body);
        CPPUNIT_ASSERT_EQUAL_MESSAGE("the job was done before its 202 arrived", std::size_t(0), done_at_202);
        CPPUNIT_ASSERT(wait_for_file_text(demo_->job_log(), "done slow\n", std::chrono::seconds(20)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), count_exact_lines(demo_->job_log(), "done slow"));
    }

    void status_and_ping_answer_local_clients_only() {
        HttpResponse json = get("/status");
        CPPUNIT_ASSERT_EQUAL(200, json.status);
        CPPUNIT_ASSERT_MESSAGE(json.body, json.body.find("\"state\":\"running\"") != std::string::npos);
        HttpResponse prometheus = get("/status?format=prometheus");
        CPPUNIT_ASSERT_EQUAL(200, prometheus.status);
        CPPUNIT_ASSERT(prometheus.body.find("fcgihost_state{state=\"running\"} 1") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("pong\n"), get("/ping").body);

        // 127.0.0.2 is loopback too, but not the address the site allows.
        CPPUNIT_ASSERT_EQUAL(403, http_status_from("127.0.0.2", nginx_->host(), nginx_->port(), "/status"));
        CPPUNIT_ASSERT_EQUAL(403, http_status_from("127.0.0.2", nginx_->host(), nginx_->port(), "/ping"));
        CPPUNIT_ASSERT_EQUAL(403, http_status_from("127.0.0.2", nginx_->host(), nginx_->port(),
                                                   "/status?format=prometheus"));
        CPPUNIT_ASSERT_EQUAL(200, http_status_from("127.0.0.2", nginx_->host(), nginx_->port(), "/"));
    }

private:
    HttpResponse get(const std::string& target) { return http_get(nginx_->host(), nginx_->port(), target); }

    std::unique_ptr<DemoProcess> demo_;
    std::unique_ptr<NginxProcess> nginx_;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(NginxSiteTest, "integration");
