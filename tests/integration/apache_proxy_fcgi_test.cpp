// apache/fcgihost-proxy-fcgi.conf with a real Apache in front of a real fcgihost-demo that
// the test runs itself (as systemd would) on a socket it creates: the demo's routes through
// Apache, the body limit Apache enforces, status and ping kept to local clients, a backend
// restart that Apache follows at once (retry=0), and a backend drain under load that loses
// no answer and no job.
#include "integration/demo_process.hpp"
#include "support/apache_process.hpp"
#include "support/http_client.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace fcgihost::testing_support;

namespace {

const std::size_t kMaxBody = 1024 * 1024;  // the demo's --max-body 1M

// Every byte value, in an order that is not a plain repeat.
std::string binary_body(std::size_t size) {
    std::string body(size, '\0');
    for (std::size_t i = 0; i < size; ++i) body[i] = static_cast<char>((i * 131 + i / 256) % 256);
    return body;
}

// fcgihost-demo on a socket of its own making in `dir`, reachable by Apache's workers the
// way docs/deploy-apache.md sets it up (group www-data, mode 0660), as a supervisor would run it.
std::unique_ptr<ChildProcess> start_backend(const TempDir& dir, const std::string& log_name) {
    std::vector<std::string> argv = {demo_binary(), "--socket", dir.file("fcgihost.sock"), "--job-log",
                                     dir.file("jobs.log")};
    if (!apache_user().empty()) {
        argv.insert(argv.end(), {"--socket-owner", ":" + apache_user(), "--socket-mode", "0660"});
    }
    std::unique_ptr<ChildProcess> demo(new ChildProcess(argv, dir.file(log_name)));
    bool up = demo->wait_for_log("listening on", std::chrono::seconds(10));
    CPPUNIT_ASSERT_MESSAGE(demo->log(), up);
    return demo;
}

}  // namespace

class ApacheProxyFcgiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ApacheProxyFcgiTest);
    CPPUNIT_TEST(routes_answer_through_apache);
    CPPUNIT_TEST(the_demo_refuses_a_body_over_max_body);
    CPPUNIT_TEST(status_and_ping_answer_local_clients_only);
    CPPUNIT_TEST(work_answers_202_before_its_done_line);
    CPPUNIT_TEST(a_restarted_backend_serves_the_next_request);
    CPPUNIT_TEST(backend_drain_under_load_loses_no_answer_and_no_job);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        app_.reset(new TempDir());
        share_with_apache(app_->path());
        demo_ = start_backend(*app_, "demo.log");
        std::string site = render_apache_sample("fcgihost-proxy-fcgi.conf", {{"@SOCKET@", app_->file("fcgihost.sock")}});
        apache_.reset(new ApacheProcess(ApacheModule::proxy_fcgi, site));
    }

    void tearDown() override {
        apache_.reset();
        demo_.reset();
        app_.reset();
    }

    void routes_answer_through_apache() {
        HttpResponse hello = apache_->get("/");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(apache_->error_log(), 200, hello.status);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), hello.body);

        std::string body = binary_body(300 * 1024);
        HttpResponse echo = apache_->post("/echo", body);
        CPPUNIT_ASSERT_EQUAL(200, echo.status);
        CPPUNIT_ASSERT(body == echo.body);
    }

    // Apache does not apply LimitRequestBody to proxied requests: the demo's --max-body
    // answers 413 itself.
    void the_demo_refuses_a_body_over_max_body() {
        CPPUNIT_ASSERT_EQUAL(200, apache_->post("/echo", std::string(kMaxBody, 'x')).status);
        CPPUNIT_ASSERT_EQUAL(413, apache_->post("/echo", std::string(kMaxBody + 1, 'x')).status);
        bool refused = demo_->wait_for_log("refused POST /echo", std::chrono::seconds(10));
        CPPUNIT_ASSERT_MESSAGE(demo_->log(), refused);
    }

    void status_and_ping_answer_local_clients_only() {
        HttpResponse status = apache_->get("/status");
        CPPUNIT_ASSERT_EQUAL(200, status.status);
        CPPUNIT_ASSERT_MESSAGE(status.body, status.body.find("\"state\":\"running\"") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(200, apache_->get("/status?format=prometheus").status);
        CPPUNIT_ASSERT_EQUAL(std::string("pong\n"), apache_->get("/ping").body);

        const std::string other = "127.0.0.2";
        CPPUNIT_ASSERT_EQUAL(403, http_status_from(other, apache_->host(), apache_->port(), "/status"));
        CPPUNIT_ASSERT_EQUAL(403, http_status_from(other, apache_->host(), apache_->port(), "/ping"));
        // Apache matches the decoded path, as fcgihost routes on it.
        CPPUNIT_ASSERT_EQUAL(403, http_status_from(other, apache_->host(), apache_->port(), "/%73tatus"));
        CPPUNIT_ASSERT_EQUAL(200, http_status_from(other, apache_->host(), apache_->port(), "/"));
    }

    void work_answers_202_before_its_done_line() {
        const std::string job_log = app_->file("jobs.log");
        // 3 s: the margin for a slow answer path; the job must outlast the 202's way out.
        HttpResponse queued = apache_->get("/work?ms=3000&id=px1");
        // Read at once: the 202 has to arrive while the job still sleeps.
        std::size_t done_at_answer = count_exact_lines(job_log, "done px1");
        CPPUNIT_ASSERT_EQUAL(202, queued.status);
        CPPUNIT_ASSERT_EQUAL(std::string("{\"id\":\"px1\",\"queued\":true}\n"), queued.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), done_at_answer);
        CPPUNIT_ASSERT(wait_for_file_text(job_log, "done px1", std::chrono::seconds(10)));
    }

    // With mod_proxy's default retry=60 the 503 of the stopped backend would last a minute.
    void a_restarted_backend_serves_the_next_request() {
        demo_->signal(SIGTERM);
        CPPUNIT_ASSERT(demo_->wait_exit(std::chrono::seconds(20)));
        CPPUNIT_ASSERT_EQUAL(0, demo_->exit_code());
        CPPUNIT_ASSERT_EQUAL(503, apache_->get("/").status);

        demo_ = start_backend(*app_, "demo2.log");
        HttpResponse hello = apache_->get("/");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(apache_->error_log(), 200, hello.status);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), hello.body);
    }

    // SIGTERM to the backend while four clients send 1,000 requests, half of them jobs.
    // Answered before the signal: all 2xx. After it: 2xx (requests in flight and in the
    // backlog are served) or Apache's 503 (the socket path is gone), never a reset or a 502.
    // Every job that got its 202 writes its done line before the demo exits 0.
    void backend_drain_under_load_loses_no_answer_and_no_job() {
        constexpr int kClients = 4;
        constexpr int kPerClient = 250;
        std::atomic<int> answered{0};
        std::atomic<bool> signalled{false};
        std::mutex mutex;
        std::vector<std::string> accepted;  // guarded by mutex
        std::vector<std::string> wrong;     // guarded by mutex
        int unavailable = 0;                // guarded by mutex
        std::vector<std::thread> clients;
        for (int c = 0; c < kClients; ++c) {
            clients.emplace_back([&, c] {
                for (int i = 0; i < kPerClient; ++i) {
                    std::string id = "c" + std::to_string(c) + "-" + std::to_string(i);
                    std::string target = i % 2 ? "/" : "/work?ms=50&id=" + id;
                    HttpResponse r;
                    std::string error;
                    try {
                        r = apache_->get(target);
                    } catch (const HttpError& e) {
                        error = e.what();
                    }
                    // Read after the answer came: false means it came before the signal.
                    bool after_signal = signalled.load();
                    ++answered;
                    std::lock_guard<std::mutex> lock(mutex);
                    if (!error.empty()) {
                        wrong.push_back(target + ": " + error);
                    } else if (r.status == 202) {
                        accepted.push_back(id);
                    } else if (r.status == 503 && after_signal) {
                        ++unavailable;
                    } else if (r.status / 100 != 2) {
                        wrong.push_back(target + ": " + std::to_string(r.status) + (after_signal ? " after" : " before") +
                                        " the signal");
                    }
                }
            });
        }
        bool midway = eventually([&] { return answered.load() >= 300; }, std::chrono::seconds(60));
        signalled = true;
        demo_->signal(SIGTERM);
        bool exited = demo_->wait_exit(std::chrono::seconds(30));
        for (std::thread& t : clients) t.join();

        std::cout << " [" << answered.load() << " answered, " << accepted.size() << " jobs, " << unavailable
                  << " 503 after the signal] " << std::flush;
        CPPUNIT_ASSERT(midway);
        CPPUNIT_ASSERT_MESSAGE(demo_->log(), exited);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(demo_->log(), 0, demo_->exit_code());
        CPPUNIT_ASSERT_EQUAL_MESSAGE(wrong.empty() ? "" : wrong.front(), std::size_t(0), wrong.size());
        const std::string job_log = app_->file("jobs.log");
        CPPUNIT_ASSERT_EQUAL(accepted.size(), count_lines_with(job_log, "done "));
        for (const std::string& id : accepted) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(id, std::size_t(1), count_exact_lines(job_log, "done " + id));
        }
    }

private:
    std::unique_ptr<TempDir> app_;
    std::unique_ptr<ChildProcess> demo_;
    std::unique_ptr<ApacheProcess> apache_;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ApacheProxyFcgiTest, "integration");
