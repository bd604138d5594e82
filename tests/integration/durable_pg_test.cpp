// Several demo processes sharing one PostgreSQL job store (docs/durable-jobs.md): every job
// runs exactly once while nothing crashes; a SIGKILLed process's jobs run elsewhere within
// 10 s; a --workers 0 process only enqueues; a PostgreSQL restart loses nothing accepted.
#include "integration/durable_demo.hpp"
#include "support/log_text.hpp"
#include "support/postgres_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>

using namespace fcgihost::testing_support;

namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

void every_job_exactly_once(unsigned processes) {
    DurableFiles files(PostgresProcess::shared().create_database());
    std::vector<std::unique_ptr<DemoProcess>> demos;
    for (unsigned i = 0; i < processes; ++i) demos.push_back(files.start({"--workers", "3"}));
    std::set<std::string> accepted;
    for (int i = 0; i < 150; ++i) {
        const std::string id = "x" + std::to_string(i);
        FcgiResponse r = demos[i % processes]->get("/work?durable=1&ms=2&id=" + id);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.body, 202, r.status);
        accepted.insert(id);
    }
    CPPUNIT_ASSERT(eventually([&] { return files.all_done(accepted); }, std::chrono::seconds(30)));
    std::map<std::string, std::size_t> counts = files.done_counts();
    CPPUNIT_ASSERT_EQUAL(accepted.size(), counts.size());
    for (const auto& c : counts) CPPUNIT_ASSERT_EQUAL_MESSAGE(c.first, std::size_t(1), c.second);
    for (auto& demo : demos) {
        CPPUNIT_ASSERT(demo->log().find("durable jobs in host=") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(0, demo->stop(SIGTERM));
    }
}

}  // namespace

class DurablePgTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DurablePgTest);
    CPPUNIT_TEST(two_processes_run_every_job_exactly_once);
    CPPUNIT_TEST(three_processes_run_every_job_exactly_once);
    CPPUNIT_TEST(unique_keys_hold_across_processes);
    CPPUNIT_TEST(a_sigkilled_process_jobs_run_elsewhere_within_10s);
    CPPUNIT_TEST(workers_0_enqueues_and_another_process_starts_the_job_soon);
    CPPUNIT_TEST(retries_and_dead_jobs_across_processes);
    CPPUNIT_TEST(unreachable_store_at_start_exits_2_without_the_password);
    CPPUNIT_TEST(postgres_restart_under_load_loses_nothing_accepted);
    CPPUNIT_TEST_SUITE_END();

public:
    void two_processes_run_every_job_exactly_once() { every_job_exactly_once(2); }
    void three_processes_run_every_job_exactly_once() { every_job_exactly_once(3); }

    void unique_keys_hold_across_processes() {
        // The server trusts local connections and ignores the password; the logs must not show it.
        DurableFiles files(PostgresProcess::shared().create_database() + " password=hunter2");
        auto a = files.start({"--workers", "1"});
        auto b = files.start({"--workers", "1"});
        // The key is held while u1 waits or runs: its 4 s leave b's enqueue a wide margin
        // on a slow machine.
        FcgiResponse first = a->get("/work?durable=1&ms=4000&id=u1&key=same");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(first.body, 202, first.status);
        FcgiResponse second = b->get("/work?durable=1&ms=1&id=u2&key=same");
        CPPUNIT_ASSERT_MESSAGE(second.body, second.status != 202 || second.body.find("duplicate") != std::string::npos);
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"u1"}); }, std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), files.done_counts().count("u2"));
        const std::string status = a->get("/status").body;
        CPPUNIT_ASSERT_MESSAGE(status, status.find("hunter2") == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(0, a->stop(SIGTERM));
        CPPUNIT_ASSERT_EQUAL(0, b->stop(SIGTERM));
        for (const std::string& log : {a->log(), b->log()}) {
            CPPUNIT_ASSERT_MESSAGE(log, log.find("password=***") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(log, log.find("hunter2") == std::string::npos);
        }
    }

    void a_sigkilled_process_jobs_run_elsewhere_within_10s() {
        DurableFiles files(PostgresProcess::shared().create_database());
        auto victim = files.start({"--workers", "2"});
        CPPUNIT_ASSERT_EQUAL(202, victim->get("/work?durable=1&ms=1000&id=held1").status);
        CPPUNIT_ASSERT_EQUAL(202, victim->get("/work?durable=1&ms=1000&id=held2").status);
        CPPUNIT_ASSERT(eventually([&] { return durable_number(victim->get("/status").body, "running") == 2; },
                                  std::chrono::seconds(10)));
        auto survivor = files.start({"--workers", "2"});
        victim->process().signal(SIGKILL);
        const Clock::time_point killed = Clock::now();
        CPPUNIT_ASSERT(victim->process().wait_exit(std::chrono::seconds(10)));
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"held1", "held2"}); }, std::chrono::seconds(15)));
        const long long started_ms = ms_since(killed) - 1000;  // each job runs 1 s once started
        std::cout << " [killed process's jobs started elsewhere within " << started_ms << " ms] " << std::flush;
        CPPUNIT_ASSERT(started_ms < 10000);
        CPPUNIT_ASSERT_EQUAL(0, survivor->stop(SIGTERM));
    }

    void workers_0_enqueues_and_another_process_starts_the_job_soon() {
        DurableFiles files(PostgresProcess::shared().create_database());
        auto web = files.start({"--workers", "0"});
        auto worker = files.start({"--workers", "2"});
        FcgiResponse in_memory = web->get("/work?ms=1&id=mem");
        CPPUNIT_ASSERT_EQUAL(503, in_memory.status);
        CPPUNIT_ASSERT_MESSAGE(in_memory.body, in_memory.body.find("no_workers") != std::string::npos);
        CPPUNIT_ASSERT(web->process().wait_for_log("--workers 0", std::chrono::seconds(5)));
        std::vector<long long> latencies;
        for (int i = 0; i < 15; ++i) {
            const std::string id = "w" + std::to_string(i);
            const Clock::time_point sent = Clock::now();
            CPPUNIT_ASSERT_EQUAL(202, web->get("/work?durable=1&ms=0&id=" + id).status);
            CPPUNIT_ASSERT(wait_for_file_text(files.job_log(), "done " + id + "\n", std::chrono::seconds(5)));
            latencies.push_back(ms_since(sent));
        }
        std::sort(latencies.begin(), latencies.end());
        const long long p50 = latencies[latencies.size() / 2];
        std::cout << " [enqueue on --workers 0 -> done on another process: p50 " << p50 << " ms, max "
                  << latencies.back() << " ms] " << std::flush;
        CPPUNIT_ASSERT(p50 < 250);
        CPPUNIT_ASSERT_MESSAGE(worker->log(), worker->log().find("wake-ups by LISTEN") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(0, web->stop(SIGTERM));
        CPPUNIT_ASSERT_EQUAL(0, worker->stop(SIGTERM));
    }

    void retries_and_dead_jobs_across_processes() {
        DurableFiles files(PostgresProcess::shared().create_database());
        auto a = files.start({"--workers", "1", "--job-max-attempts", "2"});
        auto b = files.start({"--workers", "1", "--job-max-attempts", "2"});
        CPPUNIT_ASSERT_EQUAL(202, a->get("/fail?durable=1&times=1&id=once").status);
        CPPUNIT_ASSERT_EQUAL(202, a->get("/fail?durable=1&times=5&id=never").status);
        CPPUNIT_ASSERT(eventually([&] { return files.all_done({"once"}); }, std::chrono::seconds(15)));
        CPPUNIT_ASSERT(eventually([&] { return durable_number(b->get("/status").body, "dead") == 1; },
                                  std::chrono::seconds(15)));
        std::string out;
        CPPUNIT_ASSERT_EQUAL(0, run_jobs_tool({"--job-store", files.store(), "list", "dead"}, out));
        CPPUNIT_ASSERT_MESSAGE(out, out.find("dead fail attempt=2/2") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(0, a->stop(SIGTERM));
        CPPUNIT_ASSERT_EQUAL(0, b->stop(SIGTERM));
    }

    void unreachable_store_at_start_exits_2_without_the_password() {
        TempDir nowhere;  // no server listens here
        ChildProcess demo({runner_dir() + "/fcgihost-demo", "--socket", nowhere.file("s"), "--job-store",
                           "postgresql://app:hunter2@/jobs?host=" + nowhere.path()},
                          nowhere.file("demo.log"));
        CPPUNIT_ASSERT(demo.wait_exit(std::chrono::seconds(15)));
        CPPUNIT_ASSERT_EQUAL(2, demo.exit_code());
        const std::string log = demo.log();
        CPPUNIT_ASSERT_MESSAGE(log, log.find("cannot connect") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(log, log.find("hunter2") == std::string::npos);
    }

    void postgres_restart_under_load_loses_nothing_accepted() {
        PostgresProcess server;  // its own: this test stops it
        DurableFiles files(server.create_database());
        auto a = files.start({"--workers", "2"});
        auto b = files.start({"--workers", "2"});
        std::set<std::string> accepted;
        std::mutex accepted_mutex;
        std::atomic<bool> stop{false};
        std::atomic<int> refused{0};
        std::vector<std::thread> clients;
        for (int c = 0; c < 2; ++c) {
            clients.emplace_back([&, c] {
                DemoProcess& demo = c == 0 ? *a : *b;
                for (int i = 0; !stop; ++i) {
                    const std::string id = "c" + std::to_string(c) + "-" + std::to_string(i);
                    FcgiResponse r = demo.get("/work?durable=1&ms=3&id=" + id);
                    if (r.status == 202) {
                        std::lock_guard<std::mutex> lock(accepted_mutex);
                        accepted.insert(id);
                    } else {
                        ++refused;
                    }
                }
            });
        }
        CPPUNIT_ASSERT(eventually([&] { return files.done_counts().size() >= 40; }, std::chrono::seconds(20)));
        server.stop();
        CPPUNIT_ASSERT(eventually([&] { return refused.load() > 0; }, std::chrono::seconds(10)));
        server.start();
        // Each process comes back on its own backoff schedule (up to 5 s between attempts).
        for (DemoProcess* demo : {a.get(), b.get()}) {
            const bool back = demo->process().wait_for_log("connected again after", std::chrono::seconds(20));
            CPPUNIT_ASSERT_MESSAGE(demo->log(), back);
        }
        const std::size_t done_at_restart = files.done_counts().size();
        CPPUNIT_ASSERT(eventually([&] { return files.done_counts().size() >= done_at_restart + 40; },
                                  std::chrono::seconds(30)));
        stop = true;
        for (std::thread& t : clients) t.join();
        CPPUNIT_ASSERT(eventually([&] { return files.all_done(accepted); }, std::chrono::seconds(30)));
        std::cout << " [" << accepted.size() << " accepted, " << refused.load() << " refused while down, lost 0] "
                  << std::flush;
        CPPUNIT_ASSERT_EQUAL(0, a->stop(SIGTERM));
        CPPUNIT_ASSERT_EQUAL(0, b->stop(SIGTERM));
        for (const std::string& log : {a->log(), b->log()}) {
            // Reconnects back off quietly: one line when the outage begins, one when it ends.
            CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(1), occurrences(log, "reconnecting with backoff"));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(1), occurrences(log, "connected again after"));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t(1), occurrences(log, "cannot look for due jobs"));
        }
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DurablePgTest, "integration");
