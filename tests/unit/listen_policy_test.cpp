// Tests for src/fastcgi/listen_policy.hpp: which --listen addresses need FCGI_WEB_SERVER_ADDRS or
// --allow-any-peer, and the one line that says so.
#include "fastcgi/listen_policy.hpp"

#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <sys/stat.h>

#include <string>

using namespace fcgihost;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

ListenerOptions listening_on(const std::string& where) {
    ListenerOptions o;
    o.listen = where;
    return o;
}

}  // namespace

class ListenPolicyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ListenPolicyTest);
    CPPUNIT_TEST(loopback_hosts_are_recognised);
    CPPUNIT_TEST(hosts_reachable_from_elsewhere_are_not_loopback);
    CPPUNIT_TEST(wildcard_without_a_peer_list_is_refused_with_both_fixes);
    CPPUNIT_TEST(a_peer_list_or_allow_any_peer_lets_it_start);
    CPPUNIT_TEST(an_empty_peer_list_allows_every_peer_and_is_refused);
    CPPUNIT_TEST(loopback_unix_and_unresolved_listeners_pass);
    CPPUNIT_TEST(a_socket_in_a_world_writable_directory_is_warned_about);
    CPPUNIT_TEST_SUITE_END();

public:
    void loopback_hosts_are_recognised() {
        CPPUNIT_ASSERT(is_loopback_host("127.0.0.1"));
        CPPUNIT_ASSERT(is_loopback_host("127.1.2.3"));
        CPPUNIT_ASSERT(is_loopback_host("::1"));
        CPPUNIT_ASSERT(is_loopback_host("[::1]"));
        CPPUNIT_ASSERT(is_loopback_host("::ffff:127.0.0.1"));
    }

    void hosts_reachable_from_elsewhere_are_not_loopback() {
        CPPUNIT_ASSERT(!is_loopback_host("0.0.0.0"));
        CPPUNIT_ASSERT(!is_loopback_host("::"));
        CPPUNIT_ASSERT(!is_loopback_host("[::]"));
        CPPUNIT_ASSERT(!is_loopback_host("10.0.0.1"));
        CPPUNIT_ASSERT(!is_loopback_host("128.0.0.1"));
        CPPUNIT_ASSERT(!is_loopback_host("::ffff:10.0.0.1"));
        CPPUNIT_ASSERT(!is_loopback_host(""));
    }

    void wildcard_without_a_peer_list_is_refused_with_both_fixes() {
        for (const char* where : {"0.0.0.0:9000", "[::]:9000", "10.0.0.1:9000"}) {
            const std::string refusal = listen_policy_refusal(listening_on(where), nullptr);
            CPPUNIT_ASSERT_MESSAGE(where, contains(refusal, std::string("--listen ") + where));
            CPPUNIT_ASSERT_MESSAGE(refusal, contains(refusal, "FCGI_WEB_SERVER_ADDRS"));
            CPPUNIT_ASSERT_MESSAGE(refusal, contains(refusal, "--allow-any-peer"));
            CPPUNIT_ASSERT_MESSAGE(refusal, !contains(refusal, "\n"));
        }
    }

    void a_peer_list_or_allow_any_peer_lets_it_start() {
        CPPUNIT_ASSERT_EQUAL(std::string(), listen_policy_refusal(listening_on("0.0.0.0:9000"), "10.0.0.5"));
        CPPUNIT_ASSERT_EQUAL(std::string(), listen_policy_refusal(listening_on("0.0.0.0:9000"), " , 10.0.0.5"));
        ListenerOptions any = listening_on("0.0.0.0:9000");
        any.allow_any_peer = true;
        CPPUNIT_ASSERT_EQUAL(std::string(), listen_policy_refusal(any, nullptr));
    }

    void an_empty_peer_list_allows_every_peer_and_is_refused() {
        CPPUNIT_ASSERT(!listen_policy_refusal(listening_on("0.0.0.0:9000"), "").empty());
        CPPUNIT_ASSERT(!listen_policy_refusal(listening_on("0.0.0.0:9000"), " , ").empty());
    }

    void loopback_unix_and_unresolved_listeners_pass() {
        CPPUNIT_ASSERT_EQUAL(std::string(), listen_policy_refusal(listening_on("127.0.0.1:9000"), nullptr));
        CPPUNIT_ASSERT_EQUAL(std::string(), listen_policy_refusal(listening_on("[::1]:9000"), nullptr));
        CPPUNIT_ASSERT_EQUAL(std::string(), listen_policy_refusal(listening_on("localhost:9000"), nullptr));
        ListenerOptions unix_socket;
        unix_socket.socket_path = "/run/fcgihost/fcgihost.sock";
        CPPUNIT_ASSERT_EQUAL(std::string(), listen_policy_refusal(unix_socket, nullptr));
        // Opening it fails with the resolver's reason; a refusal here would name the wrong problem.
        CPPUNIT_ASSERT_EQUAL(std::string(), listen_policy_refusal(listening_on("no-such-host.invalid:9000"), nullptr));
    }

    void a_socket_in_a_world_writable_directory_is_warned_about() {
        testing_support::TempDir dir;
        CPPUNIT_ASSERT_EQUAL(0, chmod(dir.path().c_str(), 0750));
        CPPUNIT_ASSERT_EQUAL(std::string(), socket_directory_warning(dir.file("app.sock")));
        CPPUNIT_ASSERT_EQUAL(0, chmod(dir.path().c_str(), 01777));
        const std::string warning = socket_directory_warning(dir.file("app.sock"));
        CPPUNIT_ASSERT_MESSAGE(warning, contains(warning, "--socket " + dir.file("app.sock")));
        CPPUNIT_ASSERT_MESSAGE(warning, contains(warning, "writable by every user"));
        CPPUNIT_ASSERT_MESSAGE(warning, !contains(warning, "\n"));
        CPPUNIT_ASSERT_EQUAL(std::string(), socket_directory_warning(""));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ListenPolicyTest, "unit");
