// The drain (docs/contract.md#drain), driven with real signals against a real fcgihost-demo.
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

using namespace fcgihost::testing_support;

class DemoDrainTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoDrainTest);
    CPPUNIT_TEST(sigterm_waits_for_twenty_queued_jobs);
    CPPUNIT_TEST(job_past_the_deadline_is_cancelled_and_named);
    CPPUNIT_TEST(job_ignoring_cancel_is_abandoned_after_the_grace);
    CPPUNIT_TEST(second_sigint_skips_the_drain);
    CPPUNIT_TEST(second_sigterm_does_not_cut_the_drain);
    CPPUNIT_TEST(sigterm_with_every_request_thread_idle_exits_promptly);
    CPPUNIT_TEST(sighup_starts_the_same_drain);
    CPPUNIT_TEST(sigusr1_is_logged_and_ignored);
    CPPUNIT_TEST(no_connection_made_before_sigterm_is_reset);
    CPPUNIT_TEST_SUITE_END();

public:
    void sigterm_waits_for_twenty_queued_jobs() {
        DemoProcess demo({"--workers", "4"});
        for (int i = 0; i < 20; ++i) {
            CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=300&id=j" + std::to_string(i)).status);
        }
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
        CPPUNIT_ASSERT_EQUAL(std::size_t(20), demo.done_lines());
        for (int i = 0; i < 20; ++i) {
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), count_exact_lines(demo.job_log(), "done j" + std::to_string(i)));
        }
        CPPUNIT_ASSERT(demo.log().find("drain complete: jobs completed=20 failed=0 cancelled=0 abandoned=0") !=
                       std::string::npos);
    }

    void job_past_the_deadline_is_cancelled_and_named() {
        DemoProcess demo({"--drain-timeout", "300ms", "--cancel-grace", "10s"});
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=60000&id=long").status);
        CPPUNIT_ASSERT(eventually([&] { return status_number(demo.get("/status").body, "running") == 1; },
                                  std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(3, demo.stop(SIGTERM));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), demo.done_lines());
        std::string log = demo.log();
        CPPUNIT_ASSERT(log.find("job work:long cancelled before its 60000 ms were up") != std::string::npos);
        CPPUNIT_ASSERT(log.find("drain incomplete: jobs completed=0 failed=0 cancelled=1 abandoned=0") !=
                       std::string::npos);
        CPPUNIT_ASSERT(log.find("cancelled_jobs=work:long") != std::string::npos);
    }

    void job_ignoring_cancel_is_abandoned_after_the_grace() {
        // One worker: the first job runs, the second never starts before the deadline.
        DemoProcess demo({"--workers", "1", "--drain-timeout", "200ms", "--cancel-grace", "200ms"});
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=60000&id=first").status);
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=10&id=second").status);
        CPPUNIT_ASSERT_EQUAL(3, demo.stop(SIGTERM));
        std::string log = demo.log();
        CPPUNIT_ASSERT(log.find("job work:second abandoned: never started") != std::string::npos);
        CPPUNIT_ASSERT(log.find("abandoned_jobs=work:second") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), demo.done_lines());
    }

    void second_sigint_skips_the_drain() {
        DemoProcess demo({"--drain-timeout", "10m"});
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=600000&id=slow").status);
        CPPUNIT_ASSERT(eventually([&] { return status_number(demo.get("/status").body, "running") == 1; },
                                  std::chrono::seconds(10)));
        demo.process().signal(SIGINT);
        CPPUNIT_ASSERT(demo.process().wait_for_log("SIGINT: draining", std::chrono::seconds(10)));
        // With a ten-minute deadline, an exit within the limit means the skip worked.
        CPPUNIT_ASSERT_EQUAL(3, demo.stop(SIGINT, std::chrono::seconds(30)));
        std::string log = demo.log();
        CPPUNIT_ASSERT(log.find("SIGINT again: skipping") != std::string::npos);
        CPPUNIT_ASSERT(log.find("cancelled_jobs=work:slow") != std::string::npos);
    }

    void second_sigterm_does_not_cut_the_drain() {
        DemoProcess demo;
        // The drain must still be on when the second SIGTERM and the SIGHUP come: the job's
        // 4 s leave a slow machine seconds for two signals and a log line each.
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=4000&id=kept").status);
        demo.process().signal(SIGTERM);
        CPPUNIT_ASSERT(demo.process().wait_for_log("SIGTERM: draining", std::chrono::seconds(10)));
        demo.process().signal(SIGTERM);
        CPPUNIT_ASSERT(demo.process().wait_for_log("SIGTERM during the drain: ignored", std::chrono::seconds(10)));
        demo.process().signal(SIGHUP);
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), count_exact_lines(demo.job_log(), "done kept"));
    }

    void sigterm_with_every_request_thread_idle_exits_promptly() {
        // Eight request threads, all idle in the shared wait. A design where threads sit
        // in accept() would never return here: the limit only bounds a hang.
        DemoProcess demo({"--threads", "8"});
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        auto sent = std::chrono::steady_clock::now();
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM, std::chrono::seconds(20)));
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent);
        std::cout << " [idle SIGTERM to exit: " << took.count() << " ms] " << std::flush;
        CPPUNIT_ASSERT(!std::ifstream(demo.socket_path()).good());  // a created socket is removed
    }

    void sighup_starts_the_same_drain() {
        DemoProcess demo;
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=200&id=h").status);
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGHUP));
        CPPUNIT_ASSERT(demo.log().find("SIGHUP: draining") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), demo.done_lines());
    }

    void sigusr1_is_logged_and_ignored() {
        // libfcgi would treat SIGUSR1 as a shutdown; the demo's signal thread takes it instead.
        // (SIGUSR2 is a reload: demo_reload_test.cpp.)
        DemoProcess demo;
        demo.process().signal(SIGUSR1);
        CPPUNIT_ASSERT(demo.process().wait_for_log("ignoring signal SIGUSR1", std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        CPPUNIT_ASSERT_EQUAL(0, demo.stop(SIGTERM));
    }

    void no_connection_made_before_sigterm_is_reset() {
        DemoProcess demo({"--threads", "2"});
        constexpr int kClients = 8;
        constexpr int kMaxPerClient = 3000;
        std::atomic<int> completed{0};
        std::atomic<int> reset_after_connect{0};
        std::atomic<int> accepted_jobs{0};
        std::atomic<bool> signalled{false};
        std::vector<std::thread> clients;
        for (int c = 0; c < kClients; ++c) {
            clients.emplace_back([&, c] {
                for (int i = 0; i < kMaxPerClient; ++i) {
                    std::optional<FcgiConnection> conn;
                    try {
                        conn.emplace(FcgiConnection::connect_unix(demo.socket_path()));
                    } catch (const FcgiError&) {
                        if (signalled) return;  // the path is gone: the stop has begun
                        continue;
                    }
                    try {
                        std::string id = "c" + std::to_string(c) + "-" + std::to_string(i);
                        FcgiResponse r = conn->request(cgi_params("GET", i % 2 ? "/" : "/work?ms=5&id=" + id));
                        if (r.status == 202) ++accepted_jobs;
                        ++completed;
                    } catch (const FcgiError&) {
                        ++reset_after_connect;
                    }
                }
            });
        }
        CPPUNIT_ASSERT(eventually([&] { return completed.load() >= 400; }, std::chrono::seconds(30)));
        signalled = true;
        int code = demo.stop(SIGTERM, std::chrono::seconds(30));
        for (std::thread& t : clients) t.join();
        std::cout << " [" << completed.load() << " answered, " << accepted_jobs.load() << " jobs] " << std::flush;
        CPPUNIT_ASSERT_EQUAL(0, reset_after_connect.load());
        CPPUNIT_ASSERT_EQUAL(0, code);
        CPPUNIT_ASSERT_EQUAL(static_cast<std::size_t>(accepted_jobs.load()), demo.done_lines());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoDrainTest, "integration");
