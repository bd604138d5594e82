// apache/fcgihost-fcgid.conf with a real Apache that starts and stops fcgihost-demo itself
// through mod_fcgid: the demo's routes through it, the settings it passes in FCGIHOST_
// variables, and the drain against mod_fcgid's two ways of stopping a process, an idle
// retirement and a graceful reload, with a job that fits in the time mod_fcgid allows and
// with one that does not. The demo's stderr is Apache's error log.
#include "integration/demo_process.hpp"
#include "support/apache_process.hpp"
#include "support/http_client.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

using namespace fcgihost::testing_support;

namespace {

const std::size_t kMaxBody = 1024 * 1024;  // FcgidMaxRequestLen 1048576, FCGIHOST_MAX_BODY 1M

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The first whole line of `text` containing `needle`; "" if none.
std::string line_with(const std::string& text, const std::string& needle) {
    std::size_t at = text.find(needle);
    if (at == std::string::npos) return "";
    std::size_t start = text.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    return text.substr(start, text.find('\n', at) - start);
}

// The pid in an fcgihost log line: "<time> INFO [1234] ...".
std::string pid_of(const std::string& line) {
    for (std::size_t open = line.find(" ["); open != std::string::npos; open = line.find(" [", open + 1)) {
        std::size_t close = line.find("] ", open);
        std::string digits = close == std::string::npos ? "" : line.substr(open + 2, close - open - 2);
        if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos) return digits;
    }
    CPPUNIT_FAIL("no pid in: " + line);
    return "";
}

// A number in a log line, after `key` ("completed=" in "jobs completed=3 ..."); it must be there.
int required_number(const std::string& line, const std::string& key) {
    const long long n = number_after(line, key);
    CPPUNIT_ASSERT_MESSAGE("no " + key + "N in: " + line, n >= 0);
    return static_cast<int>(n);
}

// Jobs the process still held when the drain began: "draining; N job(s) queued, M running".
int held_at_drain(const std::string& drain_line) {
    return required_number(drain_line, "draining; ") + required_number(drain_line, "queued, ");
}

// Milliseconds from `since` to the UTC time that starts an fcgihost log line
// ("2026-01-02T03:04:05.678Z ..."); for the test's report only.
long long ms_until_line(std::chrono::system_clock::time_point since, const std::string& line) {
    std::tm utc{};
    int ms = 0;
    if (std::sscanf(line.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &utc.tm_year, &utc.tm_mon, &utc.tm_mday, &utc.tm_hour,
                    &utc.tm_min, &utc.tm_sec, &ms) != 7) {
        return -1;
    }
    utc.tm_year -= 1900;
    utc.tm_mon -= 1;
    auto at = std::chrono::system_clock::from_time_t(timegm(&utc)) + std::chrono::milliseconds(ms);
    return std::chrono::duration_cast<std::chrono::milliseconds>(at - since).count();
}

// The summary line that ends process `pid`'s drain; "" until it is written.
std::string summary_of(const std::string& log, const std::string& pid) {
    std::string complete = line_with(log, "[" + pid + "] drain complete: ");
    return complete.empty() ? line_with(log, "[" + pid + "] drain incomplete: ") : complete;
}

// The sample config around this build's demo, copied where Apache's user can run it, with
// a job log it can write.
class FcgidSite {
public:
    explicit FcgidSite(const std::string& overrides = "") {
        share_with_apache(app_.path());
        std::string site = render_apache_sample(
            "fcgihost-fcgid.conf",
            {{"@DEMO@", copy_for_apache(demo_binary(), app_.path())}, {"@JOB_LOG@", app_.file("jobs.log")}});
        apache_.reset(new ApacheProcess(ApacheModule::fcgid, site, overrides));
    }

    ApacheProcess& apache() { return *apache_; }
    std::string job_log() const { return app_.file("jobs.log"); }
    std::string log() const { return apache_->error_log(); }
    // Waits for `needle` in the error log; fails the test with the log as it is then.
    void expect_log(const std::string& needle, std::chrono::seconds limit) const {
        bool found = apache_->wait_for_error_log(needle, limit);
        CPPUNIT_ASSERT_MESSAGE("no \"" + needle + "\" in the error log:\n" + log(), found);
    }

    // The pid of the one demo process that has started so far.
    std::string demo_pid() {
        expect_log("listening on fd 0", std::chrono::seconds(10));
        return pid_of(line_with(log(), "listening on fd 0"));
    }

private:
    TempDir app_;
    std::unique_ptr<ApacheProcess> apache_;
};

}  // namespace

class ApacheFcgidTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ApacheFcgidTest);
    CPPUNIT_TEST(routes_answer_from_a_process_apache_started);
    CPPUNIT_TEST(body_limit_is_fcgid_max_request_len);
    CPPUNIT_TEST(status_and_ping_answer_local_clients_only);
    CPPUNIT_TEST(work_answers_202_before_its_done_line);
    CPPUNIT_TEST(idle_retirement_lets_running_jobs_finish);
    CPPUNIT_TEST(graceful_reload_lets_a_short_job_finish);
    CPPUNIT_TEST(graceful_reload_names_a_long_job_before_any_sigkill);
    CPPUNIT_TEST_SUITE_END();

public:
    void routes_answer_from_a_process_apache_started() {
        FcgidSite site;
        HttpResponse hello = site.apache().get("/");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(site.log(), 200, hello.status);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), hello.body);
        // mod_fcgid handed the socket over as fd 0, and the sample's settings arrived.
        std::string started = line_with(site.log(), "listening on fd 0 (inherited)");
        CPPUNIT_ASSERT_MESSAGE(site.log(), !started.empty());
        CPPUNIT_ASSERT_MESSAGE(started, contains(started, "2 request threads"));
        CPPUNIT_ASSERT_MESSAGE(started, contains(started, "drain timeout 5000 ms, cancel grace 2000 ms"));

        std::string body(200 * 1024, 'e');  // over mod_fcgid's default limit of 128 KiB
        HttpResponse echo = site.apache().post("/echo", body);
        CPPUNIT_ASSERT_EQUAL(200, echo.status);
        CPPUNIT_ASSERT(body == echo.body);
    }

    // mod_fcgid refuses a larger body itself, with a 500, and the demo never sees it.
    void body_limit_is_fcgid_max_request_len() {
        FcgidSite site;
        CPPUNIT_ASSERT_EQUAL(200, site.apache().post("/echo", std::string(kMaxBody, 'x')).status);
        CPPUNIT_ASSERT_EQUAL(500, site.apache().post("/echo", std::string(kMaxBody + 1, 'x')).status);
        CPPUNIT_ASSERT_MESSAGE(site.log(), contains(site.log(), "exceeds MaxRequestLen (1048576)"));
        CPPUNIT_ASSERT_MESSAGE(site.log(), !contains(site.log(), "refused"));
    }

    void status_and_ping_answer_local_clients_only() {
        FcgidSite site;
        HttpResponse status = site.apache().get("/status");
        CPPUNIT_ASSERT_EQUAL(200, status.status);
        CPPUNIT_ASSERT_MESSAGE(status.body, contains(status.body, "\"state\":\"running\""));
        CPPUNIT_ASSERT_EQUAL(std::string("pong\n"), site.apache().get("/ping").body);

        const std::string other = "127.0.0.2";
        ApacheProcess& apache = site.apache();
        CPPUNIT_ASSERT_EQUAL(403, http_status_from(other, apache.host(), apache.port(), "/status"));
        CPPUNIT_ASSERT_EQUAL(403, http_status_from(other, apache.host(), apache.port(), "/ping"));
        CPPUNIT_ASSERT_EQUAL(403, http_status_from(other, apache.host(), apache.port(), "/%73tatus"));
        CPPUNIT_ASSERT_EQUAL(200, http_status_from(other, apache.host(), apache.port(), "/"));
    }

    void work_answers_202_before_its_done_line() {
        FcgidSite site;
        HttpResponse queued = site.apache().get("/work?ms=1000&id=fw1");
        // Read at once: the 202 has to arrive while the job still sleeps.
        std::size_t done_at_answer = count_exact_lines(site.job_log(), "done fw1");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(site.log(), 202, queued.status);
        CPPUNIT_ASSERT_EQUAL(std::string("{\"id\":\"fw1\",\"queued\":true}\n"), queued.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), done_at_answer);
        CPPUNIT_ASSERT(wait_for_file_text(site.job_log(), "done fw1", std::chrono::seconds(10)));
    }

    // mod_fcgid counts the process idle once its answers are out, jobs or not, and retires it
    // (here after 1 s) with a SIGTERM at an error scan, SIGKILL at the next. When that SIGTERM
    // comes depends on where the scans stand, so the test queues a ladder of jobs, 1.5 s to
    // 14.5 s long, and some are running whenever it comes: those that end within the drain
    // must write their done lines, and the rest must be named as cancelled, all before the
    // process exits by itself.
    void idle_retirement_lets_running_jobs_finish() {
        FcgidSite site("FcgidIdleTimeout 1\nFcgidIdleScanInterval 1\nFcgidMinProcessesPerClass 0\n"
                       "FcgidMaxProcessesPerClass 1\nFcgidInitialEnv FCGIHOST_WORKERS 16\n");
        constexpr int kJobs = 14;
        for (int k = 0; k < kJobs; ++k) {
            std::string target = "/work?ms=" + std::to_string(1500 + 1000 * k) + "&id=r" + std::to_string(k);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(site.log(), 202, site.apache().get(target).status);
        }
        auto last_answer = std::chrono::system_clock::now();
        std::string pid = site.demo_pid();
        site.expect_log("[" + pid + "] SIGTERM: draining", std::chrono::seconds(30));
        bool ended = eventually([&] { return !summary_of(site.log(), pid).empty(); }, std::chrono::seconds(20),
                                std::chrono::milliseconds(50));
        CPPUNIT_ASSERT_MESSAGE("no drain summary:\n" + site.log(), ended);
        std::string log = site.log();
        std::string drain = line_with(log, "[" + pid + "] SIGTERM: draining");
        std::string summary = summary_of(log, pid);
        std::cout << " [SIGTERM " << ms_until_line(last_answer, drain) << " ms after the last answer, "
                  << drain.substr(drain.find("draining; ")) << " | " << summary.substr(summary.find("drain "))
                  << "] " << std::flush;

        int held = held_at_drain(drain);
        int cancelled = required_number(summary, "cancelled=");
        CPPUNIT_ASSERT_MESSAGE(drain, held >= 1);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(summary, 0, required_number(summary, "abandoned="));
        CPPUNIT_ASSERT_MESSAGE("no job ended during the drain: " + summary, held - cancelled >= 1);
        for (int k = 0; k < kJobs; ++k) {
            std::string id = "r" + std::to_string(k);
            std::size_t done = count_exact_lines(site.job_log(), "done " + id);
            bool named = contains(log, "job work:" + id + " cancelled before its");
            CPPUNIT_ASSERT_MESSAGE(id + ": done " + std::to_string(done) + ", named " + std::to_string(named),
                                   done + (named ? 1 : 0) == 1);
        }
        // The summary came from the process itself, so SIGKILL had not cut the drain short.
        CPPUNIT_ASSERT_MESSAGE(summary, contains(summary, "exit="));
        CPPUNIT_ASSERT_MESSAGE(log, !contains(log, "process " + pid + " graceful kill fail"));
    }

    // mod_fcgid sends SIGTERM at once on a reload, again a second later, SIGKILL at 8 s: a
    // 2 s job finishes inside that, and Apache serves again once the process has gone.
    void graceful_reload_lets_a_short_job_finish() {
        FcgidSite site;
        CPPUNIT_ASSERT_EQUAL_MESSAGE(site.log(), 202, site.apache().get("/work?ms=2000&id=g1").status);
        std::string pid = site.demo_pid();
        site.apache().graceful();
        site.expect_log("[" + pid + "] SIGTERM: draining", std::chrono::seconds(10));
        CPPUNIT_ASSERT_EQUAL(1, held_at_drain(line_with(site.log(), "[" + pid + "] SIGTERM: draining")));
        CPPUNIT_ASSERT(wait_for_file_text(site.job_log(), "done g1", std::chrono::seconds(15)));
        site.expect_log("[" + pid + "] drain complete: jobs completed=1", std::chrono::seconds(15));
        bool reloaded = site.apache().wait_reloaded(std::chrono::seconds(20));
        CPPUNIT_ASSERT_MESSAGE(site.log(), reloaded);
        std::string log = site.log();
        CPPUNIT_ASSERT_MESSAGE(log, contains(line_with(log, "[" + pid + "] drain complete"), "exit=0"));
        CPPUNIT_ASSERT_MESSAGE(log, !contains(log, "FastCGI process " + pid + " still did not exit"));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), site.apache().get("/").body);
    }

    // A job longer than mod_fcgid allows: the drain deadline (5 s) cancels it, the process
    // names it and exits, all before the SIGKILL that would come at 8 s.
    void graceful_reload_names_a_long_job_before_any_sigkill() {
        FcgidSite site;
        CPPUNIT_ASSERT_EQUAL_MESSAGE(site.log(), 202, site.apache().get("/work?ms=60000&id=long1").status);
        std::string pid = site.demo_pid();
        site.apache().graceful();
        site.expect_log("[" + pid + "] drain incomplete", std::chrono::seconds(20));
        bool reloaded = site.apache().wait_reloaded(std::chrono::seconds(20));
        CPPUNIT_ASSERT_MESSAGE(site.log(), reloaded);
        std::string log = site.log();
        std::string summary = line_with(log, "[" + pid + "] drain incomplete");
        CPPUNIT_ASSERT_MESSAGE(summary, contains(summary, "cancelled_jobs=work:long1") ||
                                            contains(summary, "abandoned_jobs=work:long1"));
        CPPUNIT_ASSERT_MESSAGE(summary, contains(summary, "exit=3"));
        // Named before any SIGKILL: mod_fcgid logs one before sending it, after the summary if at all.
        std::size_t named_at = log.find(summary);
        std::size_t kill_at = log.find("FastCGI process " + pid + " still did not exit");
        CPPUNIT_ASSERT_MESSAGE(log, kill_at == std::string::npos || named_at < kill_at);
        CPPUNIT_ASSERT_MESSAGE(log, contains(log, "fcgihost-demo(" + pid + ") exit(shutting down), terminated by "
                                                  "calling exit(), return code: 3"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), count_exact_lines(site.job_log(), "done long1"));
        // Nothing crashed: Apache serves, from a new process.
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), site.apache().get("/").body);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ApacheFcgidTest, "integration");
