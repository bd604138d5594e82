// Durable retries, dead jobs, the fcgihost-jobs tool and unique keys, through the demo.
#include "integration/durable_demo.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kLogLimit = std::chrono::seconds(20);

}  // namespace

class DurableRetryTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DurableRetryTest);
    CPPUNIT_TEST(job_failing_twice_then_succeeding_shows_attempts_and_backoff);
    CPPUNIT_TEST(past_max_attempts_dead_with_its_error_in_status_and_tool);
    CPPUNIT_TEST(unique_key_refuses_a_second_while_the_first_waits);
    CPPUNIT_TEST(without_a_store_durable_work_gets_503);
    CPPUNIT_TEST_SUITE_END();

public:
    void job_failing_twice_then_succeeding_shows_attempts_and_backoff() {
        DurableFiles files;
        auto demo = files.start();
        CPPUNIT_ASSERT_EQUAL(202, demo->get("/fail?durable=1&times=2&id=f").status);
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"f"}); }, std::chrono::seconds(20)));
        // A failed attempt is logged after the store has it: the retry can run on another
        // worker, and be done, before the line is written. So the lines are awaited.
        CPPUNIT_ASSERT_MESSAGE(demo->log(), demo->process().wait_for_log(
                                                "attempt 1 failed: job f failed on purpose (attempt 1 of 2", kLogLimit));
        CPPUNIT_ASSERT_MESSAGE(demo->log(), demo->process().wait_for_log(
                                                "attempt 2 failed: job f failed on purpose (attempt 2 of 2", kLogLimit));
        CPPUNIT_ASSERT(demo->log().find("; retry in ") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), files.done_counts().at("f"));
        CPPUNIT_ASSERT_EQUAL(0, demo->stop(SIGTERM));
    }

    void past_max_attempts_dead_with_its_error_in_status_and_tool() {
        DurableFiles files;
        auto demo = files.start({"--job-max-attempts", "2"});
        CPPUNIT_ASSERT_EQUAL(202, demo->get("/fail?durable=1&times=5&id=d").status);
        CPPUNIT_ASSERT(eventually([&] { return durable_number(demo->get("/status").body, "dead") == 1; },
                                  std::chrono::seconds(20)));
        CPPUNIT_ASSERT(demo->get("/status?format=prometheus").body.find("fcgihost_durable_jobs{state=\"dead\"} 1") !=
                       std::string::npos);
        // /status reads the store, which has the job dead before its line is logged.
        CPPUNIT_ASSERT_MESSAGE(demo->log(),
                               demo->process().wait_for_log("dead after attempt 2: job d failed on purpose", kLogLimit));
        std::string out;
        CPPUNIT_ASSERT_EQUAL(0, run_jobs_tool({"--job-store", files.store(), "list", "dead"}, out));
        CPPUNIT_ASSERT_MESSAGE(out, out.find("dead fail attempt=2/2") != std::string::npos);
        CPPUNIT_ASSERT(out.find("error=job d failed on purpose") != std::string::npos);
        const std::string id = out.substr(0, out.find(' '));
        CPPUNIT_ASSERT_EQUAL(0, run_jobs_tool({"--job-store", files.store(), "show", id}, out));
        CPPUNIT_ASSERT(out.find("state: dead") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(1, run_jobs_tool({"--job-store", files.store(), "show", "999999"}, out));
        CPPUNIT_ASSERT_EQUAL(2, run_jobs_tool({"--job-store", files.store(), "list", "bogus"}, out));
        CPPUNIT_ASSERT_EQUAL(0, run_jobs_tool({"--help"}, out));
        CPPUNIT_ASSERT_MESSAGE(out, out.find("usage: fcgihost-jobs") == 0);
        // Retried, it fails twice more and is dead again; then deleted it is gone.
        CPPUNIT_ASSERT_EQUAL(0, run_jobs_tool({"--job-store", files.store(), "retry", id}, out));
        CPPUNIT_ASSERT(eventually([&] { return durable_number(demo->get("/status").body, "dead") == 1 &&
                                               count_substr(demo->log(), "dead after attempt 2") == 2; },
                                  std::chrono::seconds(20)));
        CPPUNIT_ASSERT_EQUAL(0, run_jobs_tool({"--job-store", files.store(), "delete", id}, out));
        CPPUNIT_ASSERT_EQUAL(0LL, durable_number(demo->get("/status").body, "dead"));
        CPPUNIT_ASSERT_EQUAL(0, demo->stop(SIGTERM));
    }

    void unique_key_refuses_a_second_while_the_first_waits() {
        DurableFiles files;
        auto demo = files.start();
        // The key is held while u1 waits or runs: its 3 s leave the second enqueue a wide
        // margin on a slow machine.
        FcgiResponse first = demo->get("/work?durable=1&ms=3000&id=u1&key=K");
        CPPUNIT_ASSERT_EQUAL(202, first.status);
        FcgiResponse second = demo->get("/work?durable=1&ms=400&id=u2&key=K");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(second.body, 409, second.status);
        CPPUNIT_ASSERT(second.body.find("\"reason\":\"duplicate\"") != std::string::npos);
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"u1"}); }, std::chrono::seconds(10)));
        CPPUNIT_ASSERT(eventually([&] { return demo->get("/work?durable=1&ms=0&id=u3&key=K").status == 202; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"u3"}); }, std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), files.done_counts().count("u2"));
        CPPUNIT_ASSERT_EQUAL(0, demo->stop(SIGTERM));
    }

    void without_a_store_durable_work_gets_503() {
        DemoProcess demo;
        FcgiResponse r = demo.get("/work?durable=1&ms=0&id=n");
        CPPUNIT_ASSERT_EQUAL(503, r.status);
        CPPUNIT_ASSERT(r.body.find("\"reason\":\"no_store\"") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=m").status);  // in-memory jobs still work
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
    }

private:
    static std::size_t count_substr(const std::string& text, const std::string& needle) {
        std::size_t n = 0;
        for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
        return n;
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DurableRetryTest, "integration");
