// PgJobStore's wake-ups (JobStore::set_wakeup) on a real PostgreSQL 15: another store's
// enqueue wakes a watcher with no polling involved; a LISTEN whose own NOTIFY never comes
// back (as behind a transaction-mode pooler) is reported in one line and the runner still
// runs the job by polling; the listener reconnects after a server restart and hears again.
#include "durable/durable_runner.hpp"
#include "durable/pg_job_store.hpp"

#include "fcgihost/log.hpp"
#include "integration/demo_process.hpp"
#include "support/log_text.hpp"
#include "support/postgres_process.hpp"
#include "unit/job_store_contract.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

using namespace fcgihost;
using fcgihost::contract::new_job;
using fcgihost::testing_support::PostgresProcess;
using fcgihost::testing_support::TempDir;
using fcgihost::testing_support::eventually;
using fcgihost::testing_support::occurrences;
using fcgihost::testing_support::read_file;
using fcgihost::testing_support::wait_for_file_text;
using namespace std::chrono;

namespace {

const milliseconds kPoll{200};

// This process's log lines go to a file for the test's life.
class LogFile {
public:
    LogFile() : fd_(::open(dir_.file("log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) {
        log_set_fd(fd_);
    }
    ~LogFile() {
        log_set_fd(2);
        ::close(fd_);
    }
    std::string path() const { return dir_.file("log"); }
    std::string text() const { return read_file(path()); }
    bool wait_for(const std::string& needle, milliseconds limit = seconds(15)) const {
        return wait_for_file_text(path(), needle, limit);
    }

private:
    TempDir dir_;
    int fd_;
};

}  // namespace

class PgWakeupTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PgWakeupTest);
    CPPUNIT_TEST(another_stores_enqueue_wakes_the_watcher);
    CPPUNIT_TEST(a_deaf_listen_falls_back_to_polling_and_the_job_still_runs);
    CPPUNIT_TEST(the_listener_reconnects_after_a_restart_and_hears_again);
    CPPUNIT_TEST_SUITE_END();

public:
    void another_stores_enqueue_wakes_the_watcher() {
        LogFile log;
        const std::string conninfo = PostgresProcess::shared().create_database();
        PgJobStore watched(conninfo);
        std::atomic<int> wakes{0};
        watched.set_wakeup([&] { ++wakes; }, kPoll);
        CPPUNIT_ASSERT_MESSAGE(log.text(), log.wait_for("wake-ups by LISTEN fcgihost_jobs"));
        PgJobStore other(conninfo);
        for (int i = 0; i < 3; ++i) {
            const int before = wakes.load();
            other.enqueue_batch({new_job("work", "p")});
            // Nothing here polls: only a notification can move the count.
            CPPUNIT_ASSERT(eventually([&] { return wakes.load() > before; }, seconds(5)));
        }
        watched.set_wakeup({}, kPoll);
        const int stopped_at = wakes.load();
        other.enqueue_batch({new_job("work", "late")});
        other.counts();  // a round trip after the commit: a listener still running would have heard by now
        CPPUNIT_ASSERT_EQUAL(stopped_at, wakes.load());
    }

    void a_deaf_listen_falls_back_to_polling_and_the_job_still_runs() {
        LogFile log;
        const std::string conninfo = PostgresProcess::shared().create_database();
        PgJobStore::Options deaf;
        deaf.probe_channel = "fcgihost_nobody_listens";  // the probe is never heard, as behind PgBouncer
        deaf.probe_wait = milliseconds(300);
        std::atomic<int> ran{0};
        {
            DurableOptions options;
            durable::DurableRunner runner(std::make_unique<PgJobStore>(conninfo, deaf), options, 1, 100);
            runner.add_kind("work", [&](const DurableJob&, const CancellationToken&) { ++ran; });
            runner.start();
            CPPUNIT_ASSERT_MESSAGE(log.text(), log.wait_for("wake-ups fall back to polling every 200 ms"));
            PgJobStore other(conninfo);
            other.enqueue_batch({new_job("work", "p")});
            CPPUNIT_ASSERT(eventually([&] { return ran.load() == 1; }, seconds(10)));
        }
        const std::string text = log.text();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(text, std::size_t(1), occurrences(text, "fall back to polling"));
        CPPUNIT_ASSERT_MESSAGE(text, text.find("wake-ups by LISTEN") == std::string::npos);
    }

    void the_listener_reconnects_after_a_restart_and_hears_again() {
        LogFile log;
        PostgresProcess server;  // its own: this test restarts it
        const std::string conninfo = server.create_database();
        PgJobStore watched(conninfo);
        std::atomic<int> wakes{0};
        watched.set_wakeup([&] { ++wakes; }, kPoll);
        CPPUNIT_ASSERT_MESSAGE(log.text(), log.wait_for("wake-ups by LISTEN"));
        server.stop();
        CPPUNIT_ASSERT_MESSAGE(log.text(), log.wait_for("reconnecting with backoff"));
        server.start();
        CPPUNIT_ASSERT_MESSAGE(log.text(), log.wait_for("connected again after"));
        PgJobStore other(conninfo);
        CPPUNIT_ASSERT(eventually(
            [&] {
                // Until the listener is back a notification can go unheard: send until one is.
                const int before = wakes.load();
                other.enqueue_batch({new_job("work", "p")});
                return eventually([&] { return wakes.load() > before; }, milliseconds(500));
            },
            seconds(15)));
        const int before = wakes.load();  // the reconnect's own wake-up is behind us now
        other.enqueue_batch({new_job("work", "q")});
        CPPUNIT_ASSERT(eventually([&] { return wakes.load() > before; }, seconds(5)));
        const std::string text = log.text();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(text, std::size_t(1), occurrences(text, "reconnecting with backoff"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(text, std::size_t(1), occurrences(text, "connected again after"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(text, std::size_t(1), occurrences(text, "wake-ups by LISTEN"));
        watched.set_wakeup({}, kPoll);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(PgWakeupTest, "integration");
