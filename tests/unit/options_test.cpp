// Tests for fcgihost/options.hpp: value parsers, flags, FCGIHOST_* variables, --help.
#include "fcgihost/options.hpp"
#include "fastcgi/socket_owner.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace fcgihost;

namespace {

using std::chrono::milliseconds;

const char* const kNoEnv[] = {nullptr};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Runs parse() over `args` (program name added) with the host's flags bound to `options`.
bool parse_host(HostOptions& options, std::vector<const char*> args, const char* const* env = kNoEnv) {
    OptionSet set;
    add_host_options(set, options);
    args.insert(args.begin(), "fcgihost-test");
    return set.parse(static_cast<int>(args.size()), args.data(), env);
}

// The OptionError message of a parse that must fail; fails the test if it does not.
std::string parse_error(std::vector<const char*> args, const char* const* env = kNoEnv) {
    HostOptions options;
    try {
        parse_host(options, std::move(args), env);
    } catch (const OptionError& e) {
        return e.what();
    }
    CPPUNIT_FAIL("parse() accepted what it should refuse");
    return std::string();
}

// The --help text of the host's flags.
std::string host_help() {
    HostOptions options;
    OptionSet set;
    add_host_options(set, options);
    return set.help("demo");
}

}  // namespace

class OptionsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(OptionsTest);
    CPPUNIT_TEST(testParseDuration);
    CPPUNIT_TEST(testParseDurationRejects);
    CPPUNIT_TEST(testParseSize);
    CPPUNIT_TEST(testParseSizeRejects);
    CPPUNIT_TEST(testParseCountBounds);
    CPPUNIT_TEST(testParseMode);
    CPPUNIT_TEST(testEnvName);
    CPPUNIT_TEST(testDefaultsWithoutArguments);
    CPPUNIT_TEST(testFlagWithSeparateValue);
    CPPUNIT_TEST(testFlagWithEqualsValue);
    CPPUNIT_TEST(testEnvironmentApplied);
    CPPUNIT_TEST(testFlagWinsOverEnvironment);
    CPPUNIT_TEST(testUnknownFlagNamed);
    CPPUNIT_TEST(testUnknownVariableNamed);
    CPPUNIT_TEST(testMissingValue);
    CPPUNIT_TEST(testBadValueNamesFlag);
    CPPUNIT_TEST(testMaxBodyHasAnUpperBound);
    CPPUNIT_TEST(testWorkerPolicy);
    CPPUNIT_TEST(testWorkerDemoteAfter);
    CPPUNIT_TEST(testHelpShowsWorkerPolicyDefaults);
    CPPUNIT_TEST(testSocketOwnerResolvedAtParse);
    CPPUNIT_TEST(testUnknownSocketOwnerNamesFlag);
    CPPUNIT_TEST(testBadEnvironmentValueNamesVariable);
    CPPUNIT_TEST(testHelpStopsParsing);
    CPPUNIT_TEST(testHelpListsEveryFlag);
    CPPUNIT_TEST(testHelpTextsStartInOneColumn);
    CPPUNIT_TEST(testNonFlagArgumentRejected);
    CPPUNIT_TEST(testStatusPath);
    CPPUNIT_TEST(testAllowAnyPeerTakesNoValue);
    CPPUNIT_TEST(testAllowAnyPeerVariable);
    CPPUNIT_TEST_SUITE_END();

public:
    void testParseDuration() {
        CPPUNIT_ASSERT_EQUAL(milliseconds(30000).count(), parse_duration("30s").count());
        CPPUNIT_ASSERT_EQUAL(milliseconds(500).count(), parse_duration("500ms").count());
        CPPUNIT_ASSERT_EQUAL(milliseconds(120000).count(), parse_duration("2m").count());
        CPPUNIT_ASSERT_EQUAL(milliseconds(1500).count(), parse_duration("1.5s").count());
        CPPUNIT_ASSERT_EQUAL(milliseconds(30000).count(), parse_duration("30").count());
        CPPUNIT_ASSERT_EQUAL(milliseconds(0).count(), parse_duration("0").count());
    }

    void testParseDurationRejects() {
        for (const char* text : {"10x", "", "-1", "-1s", "s", "ms", "1.5.s", "ten"}) {
            CPPUNIT_ASSERT_THROW_MESSAGE(std::string("accepted '") + text + "'", parse_duration(text),
                                         std::invalid_argument);
        }
    }

    void testParseSize() {
        CPPUNIT_ASSERT_EQUAL(std::size_t(1048576), parse_size("1M"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(65536), parse_size("64k"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1048576), parse_size("1048576"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1536), parse_size("1.5k"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1073741824), parse_size("1G"));
    }

    void testParseSizeRejects() {
        for (const char* text : {"10q", "1T", "", "-1", "k"}) {
            CPPUNIT_ASSERT_THROW_MESSAGE(std::string("accepted '") + text + "'", parse_size(text),
                                         std::invalid_argument);
        }
    }

    void testParseCountBounds() {
        CPPUNIT_ASSERT_EQUAL(1ul, parse_count("1", 1, 10));
        CPPUNIT_ASSERT_EQUAL(10ul, parse_count("10", 1, 10));
        CPPUNIT_ASSERT_EQUAL(7ul, parse_count("7", 1, 10));
        for (const char* text : {"0", "11", "-1", "", "1.5", "3x", "99999999999999999999999999"}) {
            CPPUNIT_ASSERT_THROW_MESSAGE(std::string("accepted '") + text + "'", parse_count(text, 1, 10),
                                         std::invalid_argument);
        }
    }

    void testParseMode() {
        CPPUNIT_ASSERT_EQUAL(mode_t(0660), parse_mode("0660"));
        CPPUNIT_ASSERT_EQUAL(mode_t(0755), parse_mode("755"));
        CPPUNIT_ASSERT_EQUAL(mode_t(0), parse_mode("0"));
        for (const char* text : {"0888", "", "rw", "12345", "-660"}) {
            CPPUNIT_ASSERT_THROW_MESSAGE(std::string("accepted '") + text + "'", parse_mode(text),
                                         std::invalid_argument);
        }
    }

    void testEnvName() {
        CPPUNIT_ASSERT_EQUAL(std::string("FCGIHOST_DRAIN_TIMEOUT"), OptionSet::env_name("drain-timeout"));
    }

    void testDefaultsWithoutArguments() {
        HostOptions options;
        CPPUNIT_ASSERT(parse_host(options, {}));
        CPPUNIT_ASSERT_EQUAL(milliseconds(30000).count(), options.drain_timeout.count());
        CPPUNIT_ASSERT_EQUAL(milliseconds(5000).count(), options.cancel_grace.count());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1024 * 1024), options.max_body);
        CPPUNIT_ASSERT_EQUAL(std::string(), options.status_path);
    }

    void testFlagWithSeparateValue() {
        HostOptions options;
        CPPUNIT_ASSERT(parse_host(options, {"--drain-timeout", "10s", "--workers", "3"}));
        CPPUNIT_ASSERT_EQUAL(milliseconds(10000).count(), options.drain_timeout.count());
        CPPUNIT_ASSERT_EQUAL(3u, options.workers);
    }

    void testFlagWithEqualsValue() {
        HostOptions options;
        CPPUNIT_ASSERT(parse_host(options, {"--drain-timeout=10s", "--max-body=64k"}));
        CPPUNIT_ASSERT_EQUAL(milliseconds(10000).count(), options.drain_timeout.count());
        CPPUNIT_ASSERT_EQUAL(std::size_t(65536), options.max_body);
    }

    void testEnvironmentApplied() {
        const char* const env[] = {"PATH=/usr/bin", "FCGIHOST_DRAIN_TIMEOUT=12s", "FCGIHOST_WORKERS=6", nullptr};
        HostOptions options;
        CPPUNIT_ASSERT(parse_host(options, {}, env));
        CPPUNIT_ASSERT_EQUAL(milliseconds(12000).count(), options.drain_timeout.count());
        CPPUNIT_ASSERT_EQUAL(6u, options.workers);
    }

    void testFlagWinsOverEnvironment() {
        const char* const env[] = {"FCGIHOST_DRAIN_TIMEOUT=12s", nullptr};
        HostOptions options;
        CPPUNIT_ASSERT(parse_host(options, {"--drain-timeout", "3s"}, env));
        CPPUNIT_ASSERT_EQUAL(milliseconds(3000).count(), options.drain_timeout.count());
    }

    void testUnknownFlagNamed() {
        std::string message = parse_error({"--drain-timeout", "1s", "--no-such-flag", "1"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--no-such-flag"));
        message = parse_error({"--bogus=3"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--bogus"));
    }

    void testUnknownVariableNamed() {
        const char* const env[] = {"HOME=/root", "FCGIHOST_NO_SUCH=1", nullptr};
        std::string message = parse_error({}, env);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "FCGIHOST_NO_SUCH"));
    }

    void testMissingValue() {
        std::string message = parse_error({"--drain-timeout"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--drain-timeout"));
    }

    void testBadValueNamesFlag() {
        std::string message = parse_error({"--drain-timeout", "soon"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--drain-timeout"));
        message = parse_error({"--workers=many"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--workers"));
        CPPUNIT_ASSERT_MESSAGE("message must be one line: " + message, !contains(message, "\n"));
    }

    void testSocketOwnerResolvedAtParse() {
        SocketOwner both = parse_socket_owner("root:root");
        CPPUNIT_ASSERT_EQUAL(uid_t(0), both.uid);
        CPPUNIT_ASSERT_EQUAL(gid_t(0), both.gid);
        SocketOwner group_only = parse_socket_owner(":0");
        CPPUNIT_ASSERT_EQUAL(static_cast<uid_t>(-1), group_only.uid);
        CPPUNIT_ASSERT_EQUAL(gid_t(0), group_only.gid);
        SocketOwner user_only = parse_socket_owner("0");
        CPPUNIT_ASSERT_EQUAL(uid_t(0), user_only.uid);
        CPPUNIT_ASSERT_EQUAL(static_cast<gid_t>(-1), user_only.gid);
        CPPUNIT_ASSERT_THROW(parse_socket_owner(":"), std::invalid_argument);
        HostOptions options;
        CPPUNIT_ASSERT(parse_host(options, {"--socket-owner", "root:root"}));
        CPPUNIT_ASSERT_EQUAL(std::string("root:root"), options.socket_owner);
    }

    // Refused while parsing, so the start stops (exit 2) before any socket exists.
    void testUnknownSocketOwnerNamesFlag() {
        std::string message = parse_error({"--socket-owner", "no-such-user-fcgihost"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--socket-owner"));
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "no such user 'no-such-user-fcgihost'"));
        message = parse_error({"--socket-owner", "root:no-such-group-fcgihost"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "no such group 'no-such-group-fcgihost'"));
        CPPUNIT_ASSERT_MESSAGE("message must be one line: " + message, !contains(message, "\n"));
    }

    void testMaxBodyHasAnUpperBound() {
        HostOptions options;
        CPPUNIT_ASSERT(parse_host(options, {"--max-body", "1G"}));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1024) * 1024 * 1024, options.max_body);
        for (const char* size : {"60G", "1025M"}) {
            const std::string message = parse_error({"--max-body", size});
            CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--max-body") && contains(message, "at most 1G"));
        }
    }

    void testWorkerPolicy() {
        HostOptions options;
        CPPUNIT_ASSERT(options.worker_policy == WorkerPolicy::adaptive);
        CPPUNIT_ASSERT(parse_host(options, {"--worker-policy", "batch"}));
        CPPUNIT_ASSERT(options.worker_policy == WorkerPolicy::batch);
        CPPUNIT_ASSERT(parse_host(options, {"--worker-policy", "adaptive"}));
        CPPUNIT_ASSERT(options.worker_policy == WorkerPolicy::adaptive);
        CPPUNIT_ASSERT(parse_host(options, {"--worker-policy", "idle"}));
        CPPUNIT_ASSERT(options.worker_policy == WorkerPolicy::idle);
        CPPUNIT_ASSERT(parse_host(options, {"--worker-policy=normal"}));
        CPPUNIT_ASSERT(options.worker_policy == WorkerPolicy::normal);
        std::string message = parse_error({"--worker-policy", "lazy"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--worker-policy") &&
                                            contains(message, "expected adaptive, batch, idle or normal"));
    }

    void testWorkerDemoteAfter() {
        HostOptions options;
        CPPUNIT_ASSERT_EQUAL(50L, static_cast<long>(options.worker_demote_after.count()));
        CPPUNIT_ASSERT(parse_host(options, {"--worker-demote-after", "20ms"}));
        CPPUNIT_ASSERT_EQUAL(20L, static_cast<long>(options.worker_demote_after.count()));
        CPPUNIT_ASSERT(parse_host(options, {"--worker-demote-after=1s"}));
        CPPUNIT_ASSERT_EQUAL(1000L, static_cast<long>(options.worker_demote_after.count()));
        std::string message = parse_error({"--worker-demote-after", "0ms"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--worker-demote-after") && contains(message, "at least 1ms"));
        message = parse_error({"--worker-demote-after", "soon"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--worker-demote-after") && contains(message, "duration"));
    }

    void testHelpShowsWorkerPolicyDefaults() {
        const std::string help = host_help();
        std::istringstream lines(help);
        bool policy = false, demote = false;
        for (std::string line; std::getline(lines, line);) {
            if (contains(line, "--worker-policy ")) policy = contains(line, "(default: adaptive)");
            if (contains(line, "--worker-demote-after ")) demote = contains(line, "(default: 50ms)");
        }
        CPPUNIT_ASSERT_MESSAGE(help, policy);
        CPPUNIT_ASSERT_MESSAGE(help, demote);
    }

    void testBadEnvironmentValueNamesVariable() {
        const char* const env[] = {"FCGIHOST_MAX_BODY=lots", nullptr};
        std::string message = parse_error({}, env);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "FCGIHOST_MAX_BODY"));
    }

    void testHelpStopsParsing() {
        const char* const env[] = {"FCGIHOST_WORKERS=9", nullptr};
        HostOptions options;
        CPPUNIT_ASSERT(!parse_host(options, {"--drain-timeout", "10s", "--help"}, env));
        // Nothing else is applied when --help is given.
        CPPUNIT_ASSERT_EQUAL(milliseconds(30000).count(), options.drain_timeout.count());
        CPPUNIT_ASSERT_EQUAL(4u, options.workers);
    }

    void testHelpListsEveryFlag() {
        HostOptions options;
        OptionSet set;
        add_host_options(set, options);
        set.add("job-log", "PATH", "jobs.log", "where jobs write", [](const std::string&) {});
        const std::string help = set.help("demo");
        const char* flags[] = {"threads", "workers", "queue-capacity", "max-body", "drain-timeout", "cancel-grace",
                               "io-timeout", "socket", "socket-mode", "socket-owner", "listen", "backlog",
                               "status-path", "ping-path", "worker-nice", "worker-policy", "worker-demote-after", "log-level", "allow-any-peer",
                               "job-log"};
        for (const std::string flag : flags) {
            CPPUNIT_ASSERT_MESSAGE("no --" + flag + " in:\n" + help, contains(help, "--" + flag + " "));
            CPPUNIT_ASSERT_MESSAGE("no variable for " + flag, contains(help, OptionSet::env_name(flag)));
        }
        CPPUNIT_ASSERT_MESSAGE(help, contains(help, "--help"));
        CPPUNIT_ASSERT_MESSAGE(help, contains(help, "30s"));       // drain-timeout default
        CPPUNIT_ASSERT_MESSAGE(help, contains(help, "jobs.log"));  // the application's default
    }

    // The longest flag ("--worker-demote-after DURATION") once pushed its text a column right.
    void testHelpTextsStartInOneColumn() {
        const std::string help = host_help();
        std::istringstream lines(help);
        std::size_t column = 0;
        for (std::string line; std::getline(lines, line);) {
            if (line.compare(0, 4, "  --") != 0) continue;
            const std::size_t gap = line.find("  ", 2);
            CPPUNIT_ASSERT_MESSAGE(line, gap != std::string::npos);
            const std::size_t text = line.find_first_not_of(' ', gap);
            if (column == 0) column = text;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(line, column, text);
        }
        CPPUNIT_ASSERT(column > 0);
    }

    void testNonFlagArgumentRejected() {
        std::string message = parse_error({"stray"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "stray"));
        parse_error({"-x"});
        parse_error({"--"});
    }

    void testStatusPath() {
        HostOptions options;
        CPPUNIT_ASSERT(parse_host(options, {"--status-path", "/status"}));
        CPPUNIT_ASSERT_EQUAL(std::string("/status"), options.status_path);
        CPPUNIT_ASSERT(parse_host(options, {"--status-path", "off"}));
        CPPUNIT_ASSERT_EQUAL(std::string(), options.status_path);
        std::string message = parse_error({"--status-path", "status"});
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "--status-path"));
    }

    // A switch: alone it turns on, and the flag after it stays a flag of its own.
    void testAllowAnyPeerTakesNoValue() {
        HostOptions options;
        CPPUNIT_ASSERT(!options.allow_any_peer);
        CPPUNIT_ASSERT(parse_host(options, {"--allow-any-peer", "--workers", "3"}));
        CPPUNIT_ASSERT(options.allow_any_peer);
        CPPUNIT_ASSERT_EQUAL(3u, options.workers);
        HostOptions last;
        CPPUNIT_ASSERT(parse_host(last, {"--allow-any-peer"}));
        CPPUNIT_ASSERT(last.allow_any_peer);
        HostOptions off;
        CPPUNIT_ASSERT(parse_host(off, {"--allow-any-peer=no"}));
        CPPUNIT_ASSERT(!off.allow_any_peer);
        CPPUNIT_ASSERT(contains(parse_error({"--allow-any-peer=maybe"}), "--allow-any-peer"));
    }

    void testAllowAnyPeerVariable() {
        const char* const on[] = {"FCGIHOST_ALLOW_ANY_PEER=1", nullptr};
        HostOptions options;
        CPPUNIT_ASSERT(parse_host(options, {}, on));
        CPPUNIT_ASSERT(options.allow_any_peer);
        const char* const off[] = {"FCGIHOST_ALLOW_ANY_PEER=no", nullptr};
        HostOptions cleared;
        CPPUNIT_ASSERT(parse_host(cleared, {}, off));
        CPPUNIT_ASSERT(!cleared.allow_any_peer);
        const char* const bad[] = {"FCGIHOST_ALLOW_ANY_PEER=sure", nullptr};
        const std::string message = parse_error({}, bad);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "FCGIHOST_ALLOW_ANY_PEER"));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(OptionsTest, "unit");
