// The sample configs in nginx/ as users copy them: the site passes `nginx -t`, the systemd
// units pass `systemd-analyze verify`, the timeouts in all of them leave room for the
// drain, and the settings the units pass in FCGIHOST_ variables are ones fcgihost-demo knows
// and accepts.
#include "integration/demo_process.hpp"
#include "support/config_text.hpp"
#include "support/http_client.hpp"
#include "support/nginx_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <grp.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace fcgihost::testing_support;

namespace {

const std::chrono::seconds kToolLimit(30);

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string sample(const std::string& name) {
    std::string text = read_file(repo_nginx_dir() + "/" + name);
    CPPUNIT_ASSERT_MESSAGE("cannot read nginx/" + name, !text.empty());
    return text;
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    CPPUNIT_ASSERT_MESSAGE("cannot write " + path, static_cast<bool>(out));
}

// Runs a tool to completion; returns its exit code and fills `output` (stdout and stderr).
int run_tool(const std::vector<std::string>& argv, const std::string& log_path, std::string& output) {
    ChildProcess tool(argv, log_path);
    bool exited = tool.wait_exit(kToolLimit);
    output = tool.log();
    CPPUNIT_ASSERT_MESSAGE(argv[0] + " did not finish: " + output, exited);
    return tool.exit_code();
}

// The argument of an nginx directive that starts a line (`name value;`).
std::string nginx_directive(const std::string& conf, const std::string& name) {
    std::istringstream lines(conf);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string first, value;
        if (words >> first >> value && first == name) return value.substr(0, value.find(';'));
    }
    CPPUNIT_FAIL("no " + name + " in nginx/fcgihost.conf");
    return "";
}

// The units with ExecStart pointing at this build's demo: systemd-analyze checks that it exists.
std::string rendered_unit(const std::string& name) {
    std::string text = sample(name);
    const std::string installed = "/usr/local/bin/fcgihost-demo";
    const std::string built = demo_binary();
    for (std::size_t at = text.find(installed); at != std::string::npos; at = text.find(installed, at + built.size())) {
        text.replace(at, installed.size(), built);
    }
    return text;
}

std::string find_systemd_analyze() {
    for (const char* path : {"/usr/bin/systemd-analyze", "/bin/systemd-analyze"})
        if (access(path, X_OK) == 0) return path;
    return "";
}

}  // namespace

class NginxConfigTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(NginxConfigTest);
    CPPUNIT_TEST(site_config_passes_nginx_t);
    CPPUNIT_TEST(systemd_units_pass_systemd_analyze_verify);
    CPPUNIT_TEST(timeouts_leave_room_for_the_drain);
    CPPUNIT_TEST(unit_environment_is_accepted_by_the_demo);
    CPPUNIT_TEST_SUITE_END();

public:
    void site_config_passes_nginx_t() {
        TempDir dir;
        std::string conf = render_nginx_prefix(dir.path(), dir.file("fcgihost.sock"),
                                               "127.0.0.1:" + std::to_string(free_local_port()));
        std::string output;
        // -q: only problems are printed, so a warning fails the test as an error would.
        int status = nginx_t(dir, conf, output);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(output, 0, status);
        CPPUNIT_ASSERT_EQUAL_MESSAGE("nginx -t printed:\n" + output, std::string(), output);

        // The check is a real one: the same prefix with a broken site fails it.
        std::ofstream(dir.file("site.conf"), std::ios::app) << "no_such_directive on;\n";
        CPPUNIT_ASSERT(nginx_t(dir, conf, output) != 0);
        CPPUNIT_ASSERT_MESSAGE(output, contains(output, "no_such_directive"));
    }

    void systemd_units_pass_systemd_analyze_verify() {
        TempDir dir;
        std::string tool = find_systemd_analyze();
        if (tool.empty()) {
            std::cout << "\n  NOTE: systemd-analyze is not installed: the systemd units were NOT verified" << std::endl;
            return;
        }
        std::string why_not;
        if (!verify_works_here(tool, dir, why_not)) {
            std::cout << "\n  NOTE: systemd-analyze verify cannot run here, so the systemd units were NOT verified:\n"
                      << why_not << std::endl;
            return;
        }
        for (const char* name : {"fcgihost.socket", "fcgihost.service", "fcgihost-plain.service"}) {
            write_text(dir.file(name), rendered_unit(name));
        }
        std::string output;
        // The pair together, so that Requires=fcgihost.socket is resolved against ours.
        int status = run_tool({tool, "verify", dir.file("fcgihost.socket"), dir.file("fcgihost.service")},
                              dir.file("verify.out"), output);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(output, 0, status);
        CPPUNIT_ASSERT_EQUAL_MESSAGE("systemd-analyze verify printed:\n" + output, std::string(), output);
        status = run_tool({tool, "verify", dir.file("fcgihost-plain.service")}, dir.file("verify.out"), output);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(output, 0, status);
        CPPUNIT_ASSERT_EQUAL_MESSAGE("systemd-analyze verify printed:\n" + output, std::string(), output);
    }

    // systemd must not kill a drain it could still finish, and nginx must not give up on a
    // request that waits in the socket's backlog through it.
    void timeouts_leave_room_for_the_drain() {
        std::string site = sample("fcgihost.conf");
        for (const char* name : {"fcgihost.service", "fcgihost-plain.service"}) {
            std::string unit = sample(name);
            Settings env = unit_environment(unit);
            long long drain = milliseconds_of(env_value(env, "FCGIHOST_DRAIN_TIMEOUT")) +
                              milliseconds_of(env_value(env, "FCGIHOST_CANCEL_GRACE"));
            std::string what = std::string(name) + ": drain + grace " + std::to_string(drain) + " ms";
            CPPUNIT_ASSERT_MESSAGE(what, milliseconds_of(unit_value(unit, "TimeoutStopSec")) > drain);
            CPPUNIT_ASSERT_MESSAGE(what, milliseconds_of(nginx_directive(site, "fastcgi_read_timeout")) > drain);
            CPPUNIT_ASSERT_MESSAGE(what, milliseconds_of(nginx_directive(site, "fastcgi_send_timeout")) > drain);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(name) + ": --max-body vs client_max_body_size",
                                         bytes_of(nginx_directive(site, "client_max_body_size")),
                                         bytes_of(env_value(env, "FCGIHOST_MAX_BODY")));
            // TERM to every process of the unit (a predecessor still draining after a reload
            // drains too; mixed would SIGKILL it), SIGKILL to what is left at the timeout.
            CPPUNIT_ASSERT_EQUAL(std::string("control-group"), unit_value(unit, "KillMode"));
            // A reload: the successor says READY=1 and the old process sends MAINPID=.
            CPPUNIT_ASSERT_EQUAL(std::string("all"), unit_value(unit, "NotifyAccess"));
            CPPUNIT_ASSERT_EQUAL(std::string("/bin/kill -USR2 $MAINPID"), unit_value(unit, "ExecReload"));
            // fcgihost sends READY=1 (demo_systemd_test.cpp proves it), so notify is safe.
            CPPUNIT_ASSERT_EQUAL(std::string("notify"), unit_value(unit, "Type"));
        }
    }

    // A misspelt variable would be ignored silently, and a bad value would stop the
    // service from starting: both are caught here rather than on a server.
    void unit_environment_is_accepted_by_the_demo() {
        TempDir dir;
        std::string help;
        CPPUNIT_ASSERT_EQUAL(0, run_tool({demo_binary(), "--help"}, dir.file("help.out"), help));
        for (const char* name : {"fcgihost.service", "fcgihost-plain.service"}) {
            Settings env = unit_environment(sample(name));
            std::vector<std::string> assignments;
            for (const auto& kv : env) {
                CPPUNIT_ASSERT_MESSAGE(std::string(name) + ": " + kv.first + " is no fcgihost-demo setting",
                                       contains(help, "[" + kv.first + "]"));
                assignments.push_back(kv.first + "=" + local_value(kv.first, kv.second, dir));
            }
            // fcgihost.service takes its socket from systemd; here it gets one of its own.
            assignments.push_back("FCGIHOST_SOCKET=" + dir.file("env.sock"));
            ChildProcess demo({demo_binary()}, dir.file("demo.log"), assignments);
            // A refused setting ends the process at once (exit 2): no need to wait for the limit.
            eventually([&] { return demo.exited() || contains(demo.log(), "listening on"); }, std::chrono::seconds(10));
            CPPUNIT_ASSERT_MESSAGE(std::string(name) + ": " + demo.log(), contains(demo.log(), "listening on"));
            std::string expected = "drain timeout " +
                                   std::to_string(milliseconds_of(env_value(env, "FCGIHOST_DRAIN_TIMEOUT"))) +
                                   " ms, cancel grace " +
                                   std::to_string(milliseconds_of(env_value(env, "FCGIHOST_CANCEL_GRACE"))) + " ms";
            CPPUNIT_ASSERT_MESSAGE(demo.log(), contains(demo.log(), expected));
            demo.signal(SIGTERM);
            CPPUNIT_ASSERT(demo.wait_exit(std::chrono::seconds(20)));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(demo.log(), 0, demo.exit_code());
        }
    }

private:
    static int nginx_t(const TempDir& dir, const std::string& conf, std::string& output) {
        return run_tool({nginx_binary(), "-t", "-q", "-p", dir.path() + "/", "-c", conf, "-e",
                         nginx_error_log_path(dir.path())},
                        dir.file("nginx-t.out"), output);
    }

    // Whether this systemd-analyze can judge units here: a good unit passes without a word,
    // and a broken one is reported.
    static bool verify_works_here(const std::string& tool, const TempDir& dir, std::string& why_not) {
        write_text(dir.file("probe-good.service"), "[Service]\nType=simple\nExecStart=/bin/true\n");
        write_text(dir.file("probe-bad.service"), "[Service]\nExecStart=/bin/true\nKillMode=sometimes\n");
        std::string good, bad;
        int good_status = run_tool({tool, "verify", dir.file("probe-good.service")}, dir.file("probe.out"), good);
        run_tool({tool, "verify", dir.file("probe-bad.service")}, dir.file("probe.out"), bad);
        if (good_status != 0 || !good.empty()) {
            why_not = "a minimal valid unit gave status " + std::to_string(good_status) + ":\n" + good;
            return false;
        }
        if (!contains(bad, "probe-bad.service")) {
            why_not = "a unit with a bad KillMode= passed without a word: " + bad;
            return false;
        }
        return true;
    }

    // Paths a unit points at on a server, moved into the test's directory. Only root may
    // give the socket to a group it is not in: anyone else gives it to their own.
    static std::string local_value(const std::string& name, const std::string& value, const TempDir& dir) {
        if (name == "FCGIHOST_JOB_LOG") return dir.file("jobs.log");
        if (name == "FCGIHOST_SOCKET") return dir.file("env.sock");
        if (name == "FCGIHOST_SOCKET_OWNER" && geteuid() != 0) {
            const group* own = getgrgid(getegid());
            CPPUNIT_ASSERT(own != nullptr);
            return std::string(":") + own->gr_name;
        }
        return value;
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(NginxConfigTest, "integration");
