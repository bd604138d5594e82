// The demo's handlers, tested the way users test theirs: with the testing kit, no socket,
// no threads; queued jobs run on demand and their effect is checked.
#include "demo/demo_routes.hpp"

#include "fcgihost/testing.hpp"
#include "fcgihost/testing_cppunit.hpp"
#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <memory>
#include <stdexcept>

using namespace fcgihost;
using fcgihost::testing::ManualQueue;
using fcgihost::testing::RequestBuilder;
using fcgihost::testing::run;
using fcgihost::testing_support::count_lines_with;
using fcgihost::testing_support::read_file;
using fcgihost::testing_support::TempDir;

class DemoRoutesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoRoutesTest);
    CPPUNIT_TEST(root_says_hello);
    CPPUNIT_TEST(work_queues_a_job_that_writes_its_done_line);
    CPPUNIT_TEST(work_without_id_gets_a_fresh_one);
    CPPUNIT_TEST(work_with_bad_arguments_queues_nothing);
    CPPUNIT_TEST(full_queue_gets_503_with_the_reason);
    CPPUNIT_TEST(stopping_queue_gets_503_with_the_reason);
    CPPUNIT_TEST(cancelled_job_writes_no_done_line);
    CPPUNIT_TEST(job_log_that_cannot_be_written_fails_the_job);
    CPPUNIT_TEST(fail_queues_a_job_that_throws);
    CPPUNIT_TEST(echo_returns_the_body_and_its_type);
    CPPUNIT_TEST(unknown_path_and_wrong_method);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        dir_.reset(new TempDir());
        log_ = dir_->file("jobs.log");
        router_ = Router();
        jobs_.reset(new ManualQueue());
        demo::add_demo_routes(router_, *jobs_, demo::DemoOptions{log_});
    }

    void root_says_hello() {
        Response r = run(router_, RequestBuilder("GET", "/"));
        FCGIHOST_ASSERT_STATUS(200, r);
        FCGIHOST_ASSERT_BODY("hello\n", r);
        FCGIHOST_ASSERT_HEADER("text/plain; charset=utf-8", "Content-Type", r);
    }

    void work_queues_a_job_that_writes_its_done_line() {
        Response r = run(router_, RequestBuilder("GET", "/work?ms=0&id=abc"));
        FCGIHOST_ASSERT_STATUS(202, r);
        FCGIHOST_ASSERT_BODY("{\"id\":\"abc\",\"queued\":true}\n", r);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs_->size());
        CPPUNIT_ASSERT_EQUAL(std::string("work:abc"), jobs_->names()[0]);
        CPPUNIT_ASSERT_EQUAL(std::string(""), read_file(log_));  // answered before the work
        CPPUNIT_ASSERT(jobs_->run_next());
        CPPUNIT_ASSERT_EQUAL(std::string("done abc\n"), read_file(log_));
    }

    void work_without_id_gets_a_fresh_one() {
        FCGIHOST_ASSERT_STATUS(202, run(router_, RequestBuilder("GET", "/work")));
        FCGIHOST_ASSERT_STATUS(202, run(router_, RequestBuilder("GET", "/work")));
        std::vector<std::string> names = jobs_->names();
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), names.size());
        CPPUNIT_ASSERT(names[0] != names[1]);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), jobs_->run_all());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), count_lines_with(log_, "done job-"));
    }

    void work_with_bad_arguments_queues_nothing() {
        for (const char* target : {"/work?ms=-1", "/work?ms=abc", "/work?ms=99999999", "/work?ms=", "/work?id=a%20b",
                                   "/work?id=" "0123456789012345678901234567890123456789012345678901234567890123456789",
                                   "/work?ms=%zz"}) {
            FCGIHOST_ASSERT_STATUS(400, run(router_, RequestBuilder("GET", target)));
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), jobs_->size());
    }

    void full_queue_gets_503_with_the_reason() {
        jobs_->set_capacity(1);
        FCGIHOST_ASSERT_STATUS(202, run(router_, RequestBuilder("GET", "/work?id=a")));
        Response refused = run(router_, RequestBuilder("GET", "/work?id=b"));
        FCGIHOST_ASSERT_STATUS(503, refused);
        FCGIHOST_ASSERT_BODY("{\"id\":\"b\",\"queued\":false,\"reason\":\"full\"}\n", refused);
        FCGIHOST_ASSERT_HEADER("1", "Retry-After", refused);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), jobs_->rejected());
    }

    void stopping_queue_gets_503_with_the_reason() {
        jobs_->set_stopping(true);
        Response refused = run(router_, RequestBuilder("GET", "/fail?id=s"));
        FCGIHOST_ASSERT_STATUS(503, refused);
        CPPUNIT_ASSERT(refused.body().find("\"reason\":\"stopping\"") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), jobs_->size());
    }

    void cancelled_job_writes_no_done_line() {
        FCGIHOST_ASSERT_STATUS(202, run(router_, RequestBuilder("GET", "/work?ms=3600000&id=long")));
        jobs_->tokens().cancel();  // the job sees the drain deadline passed: it returns at once
        CPPUNIT_ASSERT(jobs_->run_next());
        CPPUNIT_ASSERT_EQUAL(std::string(""), read_file(log_));
    }

    void job_log_that_cannot_be_written_fails_the_job() {
        Router router;
        ManualQueue jobs;
        demo::add_demo_routes(router, jobs, demo::DemoOptions{dir_->file("missing-dir/jobs.log")});
        FCGIHOST_ASSERT_STATUS(202, run(router, RequestBuilder("GET", "/work?id=x")));
        CPPUNIT_ASSERT_THROW(jobs.run_next(), std::runtime_error);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), jobs.size());
    }

    void fail_queues_a_job_that_throws() {
        Response r = run(router_, RequestBuilder("GET", "/fail?id=f"));
        FCGIHOST_ASSERT_STATUS(202, r);
        CPPUNIT_ASSERT_EQUAL(std::string("fail:f"), jobs_->names().at(0));
        CPPUNIT_ASSERT_THROW(jobs_->run_next(), std::runtime_error);
    }

    void echo_returns_the_body_and_its_type() {
        std::string body("a\0b\r\nc", 6);
        Response r = run(router_, RequestBuilder("POST", "/echo").body(body, "application/x-test"));
        FCGIHOST_ASSERT_STATUS(200, r);
        CPPUNIT_ASSERT(r.body() == body);
        FCGIHOST_ASSERT_HEADER("application/x-test", "Content-Type", r);
        FCGIHOST_ASSERT_HEADER("application/octet-stream", "Content-Type",
                               run(router_, RequestBuilder("POST", "/echo").body("x")));
    }

    void unknown_path_and_wrong_method() {
        FCGIHOST_ASSERT_STATUS(404, run(router_, RequestBuilder("GET", "/nothing")));
        Response r = run(router_, RequestBuilder("POST", "/work"));
        FCGIHOST_ASSERT_STATUS(405, r);
        FCGIHOST_ASSERT_HEADER("GET", "Allow", r);
        FCGIHOST_ASSERT_STATUS(405, run(router_, RequestBuilder("GET", "/echo")));
    }

private:
    std::unique_ptr<TempDir> dir_;
    std::string log_;
    Router router_;
    std::unique_ptr<ManualQueue> jobs_;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoRoutesTest, "unit");
