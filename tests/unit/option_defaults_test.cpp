// The host's flags: each --help default is the value a parse with no flags leaves, and
// a malformed duration or size says what form is expected.
#include "fcgihost/options.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <sstream>
#include <string>
#include <vector>

using namespace fcgihost;

namespace {

const char* const kNoEnv[] = {nullptr};

void parse(HostOptions& options, std::vector<const char*> args) {
    OptionSet set;
    add_host_options(set, options);
    args.insert(args.begin(), "fcgihost-test");
    set.parse(static_cast<int>(args.size()), args.data(), kNoEnv);
}

std::string help_of(HostOptions options) {
    OptionSet set;
    add_host_options(set, options);
    return set.help("fcgihost-test");
}

// Every member a flag sets, as text, so that two parses can be compared in one assertion.
std::string describe(const HostOptions& o) {
    std::ostringstream out;
    out << o.threads << ' ' << o.workers << ' ' << o.queue_capacity << ' ' << o.max_body << ' '
        << o.drain_timeout.count() << ' ' << o.cancel_grace.count() << ' ' << o.io_timeout.count() << " ["
        << o.socket_path << "] " << o.socket_mode << " [" << o.socket_owner << "] [" << o.listen << "] " << o.backlog
        << " [" << o.status_path << "] [" << o.ping_path << "] " << o.worker_nice << ' '
        << static_cast<int>(o.worker_policy) << ' ' << o.worker_demote_after.count() << ' ' << static_cast<int>(o.log_level) << ' ' << o.allow_any_peer
        << ' ' << o.reload_timeout.count() << " [" << o.pid_file << "]"
        << " [" << o.durable.store << "] " << o.durable.retry_base.count() << ' ' << o.durable.max_attempts << ' '
        << o.durable.lease.count();
    return out.str();
}

std::string option_error(std::vector<const char*> args) {
    HostOptions options;
    try {
        parse(options, std::move(args));
    } catch (const OptionError& e) {
        return e.what();
    }
    CPPUNIT_FAIL("parse() accepted what it should refuse");
    return std::string();
}

}  // namespace

class OptionDefaultsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(OptionDefaultsTest);
    CPPUNIT_TEST(every_help_default_is_what_no_flag_gives);
    CPPUNIT_TEST(help_shows_defaults_an_application_changed);
    CPPUNIT_TEST(bad_duration_says_what_a_duration_looks_like);
    CPPUNIT_TEST(bad_size_says_what_a_size_looks_like);
    CPPUNIT_TEST_SUITE_END();

public:
    void every_help_default_is_what_no_flag_gives() {
        HostOptions none;
        parse(none, {});
        const std::string expected = describe(none);
        std::istringstream help(help_of(HostOptions()));
        unsigned checked = 0;
        for (std::string text; std::getline(help, text);) {
            // A flag's line: "  --name VALUE  what it does (default: D) [FCGIHOST_NAME]".
            // Plain scanning, not <regex>: GCC 12 warns inside <regex> under ASan at -O1.
            if (text.compare(0, 4, "  --") != 0) continue;
            const std::size_t name_end = text.find(' ', 4);
            const std::size_t open = text.rfind("(default: ");
            if (name_end == std::string::npos || open == std::string::npos) continue;
            const std::size_t close = text.find(')', open);
            if (close == std::string::npos || text.compare(close, 3, ") [") != 0) continue;
            const std::string flag = text.substr(2, name_end - 2);
            const std::size_t value = open + std::string("(default: ").size();
            const std::string shown = text.substr(value, close - value);
            if (flag == "--threads") {
                // Not a value a flag takes: 0 means "decide from the core count".
                CPPUNIT_ASSERT_EQUAL(std::string("2 per core"), shown);
                CPPUNIT_ASSERT_EQUAL(0u, none.threads);
                continue;
            }
            HostOptions given;
            const std::string arg = flag + "=" + shown;  // the form a switch takes too
            parse(given, {arg.c_str()});
            CPPUNIT_ASSERT_EQUAL_MESSAGE(flag + " " + shown, expected, describe(given));
            ++checked;
        }
        // Every flag shows a default but --threads and the ones empty by default (--socket,
        // --listen, --socket-owner, --pid-file).
        CPPUNIT_ASSERT_EQUAL(20u, checked);
    }

    void help_shows_defaults_an_application_changed() {
        HostOptions defaults;
        defaults.drain_timeout = std::chrono::milliseconds(1500);
        defaults.max_body = 64 * 1024;
        defaults.status_path = "/status";
        defaults.allow_any_peer = true;
        const std::string help = help_of(defaults);
        CPPUNIT_ASSERT(help.find("(default: 1500ms)") != std::string::npos);
        CPPUNIT_ASSERT(help.find("(default: 64k)") != std::string::npos);
        CPPUNIT_ASSERT(help.find("(default: /status)") != std::string::npos);
        CPPUNIT_ASSERT(help.find("(default: on)") != std::string::npos);
    }

    void bad_duration_says_what_a_duration_looks_like() {
        CPPUNIT_ASSERT_EQUAL(std::string("--drain-timeout: invalid value '5x': expected a duration such as 30s or 500ms"),
                             option_error({"--drain-timeout", "5x"}));
        CPPUNIT_ASSERT_EQUAL(std::string("--io-timeout: invalid value 'soon': expected a duration such as 30s or 500ms"),
                             option_error({"--io-timeout", "soon"}));
    }

    void bad_size_says_what_a_size_looks_like() {
        CPPUNIT_ASSERT_EQUAL(std::string("--max-body: invalid value 'x1': expected a size such as 1M or 64k"),
                             option_error({"--max-body", "x1"}));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(OptionDefaultsTest, "unit");
