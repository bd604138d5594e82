// The sample configs in apache/ as users copy them: both pass `apache2 -t`, the mod_fcgid
// one fits the drain inside mod_fcgid's kill sequence (measured: docs/deploy-apache.md#mod_fcgid)
// with limits that match on both sides, and the settings it passes in FCGIHOST_
// variables are ones fcgihost-demo knows.
#include "integration/demo_process.hpp"
#include "support/apache_process.hpp"
#include "support/config_text.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace fcgihost::testing_support;

namespace {

// mod_fcgid 2.3.9 on an Apache stop, restart or graceful reload: SIGKILL 8 s after the first
// SIGTERM (measured 8.3 s). On an idle or age retirement: SIGKILL one error scan after the
// SIGTERM, FcgidErrorScanInterval + 1 s later (measured 4.0 s with 3, 9.0 s with 8).
const long long kReloadKillMs = 8000;
const long long kScanGranularityMs = 1000;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string sample(const std::string& name) {
    std::string text = read_file(repo_apache_dir() + "/" + name);
    CPPUNIT_ASSERT_MESSAGE("cannot read apache/" + name, !text.empty());
    return text;
}

// Each "Directive arg..." line outside comments, with leading blanks dropped.
std::vector<std::string> directive_lines(const std::string& conf) {
    std::vector<std::string> out;
    std::istringstream lines(conf);
    for (std::string line; std::getline(lines, line);) {
        std::size_t start = line.find_first_not_of(" \t");
        if (start == std::string::npos || line[start] == '#') continue;
        out.push_back(line.substr(start));
    }
    return out;
}

// The arguments of the one `name` directive in `conf`.
std::string directive(const std::string& conf, const std::string& name) {
    std::string found;
    int count = 0;
    for (const std::string& line : directive_lines(conf)) {
        std::istringstream words(line);
        std::string first;
        if (words >> first && first == name) {
            ++count;
            std::getline(words >> std::ws, found);
        }
    }
    CPPUNIT_ASSERT_EQUAL_MESSAGE("directives " + name, 1, count);
    return found;
}

// FcgidInitialEnv NAME VALUE lines.
Settings initial_env(const std::string& conf) {
    Settings env;
    for (const std::string& line : directive_lines(conf)) {
        std::istringstream words(line);
        std::string first, name, value;
        if (words >> first >> name >> value && first == "FcgidInitialEnv") env.emplace_back(name, value);
    }
    return env;
}

ApacheSyntaxCheck syntax_check(ApacheModule module, const std::string& site, const TempDir& dir) {
    return apache_syntax_check(write_apache_config(dir.path(), module, free_local_port(), site));
}

}  // namespace

class ApacheConfigTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ApacheConfigTest);
    CPPUNIT_TEST(proxy_fcgi_config_passes_apache2_t);
    CPPUNIT_TEST(fcgid_config_passes_apache2_t);
    CPPUNIT_TEST(a_broken_config_fails_apache2_t);
    CPPUNIT_TEST(fcgid_drain_ends_before_every_sigkill);
    CPPUNIT_TEST(body_limit_is_set_once_on_each_side);
    CPPUNIT_TEST(fcgid_environment_is_known_to_the_demo);
    CPPUNIT_TEST(proxy_fcgi_retries_a_failed_connect_at_once);
    CPPUNIT_TEST(proxy_timeout_outlasts_the_units_drain);
    CPPUNIT_TEST_SUITE_END();

public:
    void proxy_fcgi_config_passes_apache2_t() {
        TempDir dir;
        std::string site = render_apache_sample("fcgihost-proxy-fcgi.conf", {{"@SOCKET@", dir.file("fcgihost.sock")}});
        ApacheSyntaxCheck check = syntax_check(ApacheModule::proxy_fcgi, site, dir);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.output, 0, check.exit_code);
        CPPUNIT_ASSERT_MESSAGE(check.output, contains(check.output, "Syntax OK"));
    }

    void fcgid_config_passes_apache2_t() {
        TempDir dir;
        std::string site = render_apache_sample("fcgihost-fcgid.conf",
                                                {{"@DEMO@", demo_binary()}, {"@JOB_LOG@", dir.file("jobs.log")}});
        ApacheSyntaxCheck check = syntax_check(ApacheModule::fcgid, site, dir);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.output, 0, check.exit_code);
        CPPUNIT_ASSERT_MESSAGE(check.output, contains(check.output, "Syntax OK"));
    }

    // The check is a real one: the same server with a misspelt directive fails it.
    void a_broken_config_fails_apache2_t() {
        TempDir dir;
        std::string site = render_apache_sample("fcgihost-fcgid.conf",
                                                {{"@DEMO@", demo_binary()}, {"@JOB_LOG@", dir.file("jobs.log")}});
        ApacheSyntaxCheck check = syntax_check(ApacheModule::fcgid, site + "FcgidIdleTimeut 5\n", dir);
        CPPUNIT_ASSERT(check.exit_code != 0);
        CPPUNIT_ASSERT_MESSAGE(check.output, contains(check.output, "FcgidIdleTimeut"));
    }

    // Every job the process gives up on must be named in the log before SIGKILL can come,
    // on a reload and on a retirement alike; and nothing may stop a process just after it
    // took a job.
    void fcgid_drain_ends_before_every_sigkill() {
        std::string conf = sample("fcgihost-fcgid.conf");
        Settings env = initial_env(conf);
        long long drain = milliseconds_of(env_value(env, "FCGIHOST_DRAIN_TIMEOUT")) +
                          milliseconds_of(env_value(env, "FCGIHOST_CANCEL_GRACE"));
        long long retirement_window = std::stoll(directive(conf, "FcgidErrorScanInterval")) * 1000 + kScanGranularityMs;
        std::string what = "drain + grace " + std::to_string(drain) + " ms";
        CPPUNIT_ASSERT_MESSAGE(what + " vs a reload's SIGKILL", drain < kReloadKillMs);
        CPPUNIT_ASSERT_MESSAGE(what + " vs a retirement's SIGKILL", drain < retirement_window);
        CPPUNIT_ASSERT_EQUAL(std::string("0"), directive(conf, "FcgidMaxRequestsPerProcess"));
        CPPUNIT_ASSERT_EQUAL(std::string("0"), directive(conf, "FcgidProcessLifeTime"));
        CPPUNIT_ASSERT(std::stoll(directive(conf, "FcgidMinProcessesPerClass")) >= 1);
    }

    void body_limit_is_set_once_on_each_side() {
        std::string fcgid = sample("fcgihost-fcgid.conf");
        CPPUNIT_ASSERT_EQUAL(bytes_of(env_value(initial_env(fcgid), "FCGIHOST_MAX_BODY")),
                             std::stoll(directive(fcgid, "FcgidMaxRequestLen")));
        // LimitRequestBody would make mod_fcgid pass an empty body on (docs/deploy-apache.md#mod_fcgid), and under
        // mod_proxy_fcgi it does nothing: neither sample may seem to rely on it.
        std::vector<std::string> lines = directive_lines(fcgid);
        for (const std::string& line : directive_lines(sample("fcgihost-proxy-fcgi.conf"))) lines.push_back(line);
        for (const std::string& line : lines) {
            CPPUNIT_ASSERT_MESSAGE(line, line.compare(0, 16, "LimitRequestBody") != 0);
        }
    }

    // A misspelt variable would stop every process mod_fcgid starts (exit 2, every request a
    // 500): caught here rather than on a server.
    void fcgid_environment_is_known_to_the_demo() {
        TempDir dir;
        ChildProcess help({demo_binary(), "--help"}, dir.file("help.out"));
        CPPUNIT_ASSERT(help.wait_exit(std::chrono::seconds(10)));
        CPPUNIT_ASSERT_EQUAL(0, help.exit_code());
        for (const auto& kv : initial_env(sample("fcgihost-fcgid.conf"))) {
            CPPUNIT_ASSERT_MESSAGE(kv.first + " is no fcgihost-demo setting", contains(help.log(), "[" + kv.first + "]"));
        }
    }

    // mod_proxy's default retry=60 turns one failed connect into a minute of 503s.
    // With socket activation a request can wait in the socket's backlog through the old
    // process's whole drain; Apache must wait longer than that, or it answers 504.
    void proxy_timeout_outlasts_the_units_drain() {
        std::string pass = directive(sample("fcgihost-proxy-fcgi.conf"), "ProxyPass");
        std::size_t at = pass.find(" timeout=");
        CPPUNIT_ASSERT_MESSAGE(pass, at != std::string::npos);
        std::string value = pass.substr(at + 9, pass.find(' ', at + 9) - (at + 9));
        std::string unit = read_file(repo_apache_dir() + "/../nginx/fcgihost.service");
        long long drain = milliseconds_of(env_value(unit_environment(unit), "FCGIHOST_DRAIN_TIMEOUT")) +
                          milliseconds_of(env_value(unit_environment(unit), "FCGIHOST_CANCEL_GRACE"));
        CPPUNIT_ASSERT_MESSAGE(pass, milliseconds_of(value) > drain);
    }

    void proxy_fcgi_retries_a_failed_connect_at_once() {
        std::string pass = directive(sample("fcgihost-proxy-fcgi.conf"), "ProxyPass");
        CPPUNIT_ASSERT_MESSAGE(pass, contains(pass, " retry=0"));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ApacheConfigTest, "integration");
