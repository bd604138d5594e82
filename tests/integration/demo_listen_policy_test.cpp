// The demo on TCP: an address other hosts can reach starts only with a peer list
// (FCGI_WEB_SERVER_ADDRS) or --allow-any-peer; without either it exits 2 with one line that
// names both, before any socket is bound. Loopback starts as it is.
#include "integration/demo_process.hpp"
#include "support/http_client.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace fcgihost::testing_support;

namespace {

const std::chrono::seconds kStartLimit(10);
const std::chrono::seconds kExitLimit(20);

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool accepts_connections(int port) {
    try {
        HttpConnection probe("127.0.0.1", port, std::chrono::seconds(2));
        return true;
    } catch (const HttpError&) {
        return false;
    }
}

}  // namespace

class DemoListenPolicyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DemoListenPolicyTest);
    CPPUNIT_TEST(any_address_without_a_peer_list_is_refused);
    CPPUNIT_TEST(any_address_with_web_server_addrs_serves);
    CPPUNIT_TEST(any_address_with_allow_any_peer_serves);
    CPPUNIT_TEST(any_address_with_the_allow_any_peer_variable_serves);
    CPPUNIT_TEST(loopback_serves_without_either);
    CPPUNIT_TEST(a_socket_in_a_world_writable_directory_is_warned_about_and_serves);
    CPPUNIT_TEST_SUITE_END();

public:
    void any_address_without_a_peer_list_is_refused() {
        TempDir tmp;
        const int port = free_local_port();
        const std::string where = "0.0.0.0:" + std::to_string(port);
        ChildProcess demo({demo_binary(), "--listen", where, "--job-log", tmp.file("jobs.log")}, tmp.file("demo.log"),
                          {"FCGI_WEB_SERVER_ADDRS", "FCGIHOST_ALLOW_ANY_PEER"});
        CPPUNIT_ASSERT(demo.wait_exit(kExitLimit));
        const std::string log = demo.log();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, 2, demo.exit_code());
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::string::difference_type(1), std::count(log.begin(), log.end(), '\n'));
        CPPUNIT_ASSERT_MESSAGE(log, contains(log, "--listen " + where));
        CPPUNIT_ASSERT_MESSAGE(log, contains(log, "FCGI_WEB_SERVER_ADDRS"));
        CPPUNIT_ASSERT_MESSAGE(log, contains(log, "--allow-any-peer"));
        CPPUNIT_ASSERT_MESSAGE("the refused listener was bound", !accepts_connections(port));
    }

    void any_address_with_web_server_addrs_serves() {
        expect_serves({}, {"FCGI_WEB_SERVER_ADDRS=127.0.0.1", "FCGIHOST_ALLOW_ANY_PEER"});
    }

    void any_address_with_allow_any_peer_serves() {
        expect_serves({"--allow-any-peer"}, {"FCGI_WEB_SERVER_ADDRS", "FCGIHOST_ALLOW_ANY_PEER"});
    }

    void any_address_with_the_allow_any_peer_variable_serves() {
        expect_serves({}, {"FCGI_WEB_SERVER_ADDRS", "FCGIHOST_ALLOW_ANY_PEER=1"});
    }

    void loopback_serves_without_either() {
        expect_serves({}, {"FCGI_WEB_SERVER_ADDRS", "FCGIHOST_ALLOW_ANY_PEER"}, "127.0.0.1");
    }

    void a_socket_in_a_world_writable_directory_is_warned_about_and_serves() {
        TempDir tmp;
        CPPUNIT_ASSERT_EQUAL(0, chmod(tmp.path().c_str(), 01777));
        ChildProcess demo({demo_binary(), "--socket", tmp.file("demo.sock"), "--job-log", tmp.file("jobs.log")},
                          tmp.file("demo.log"));
        CPPUNIT_ASSERT_MESSAGE(demo.log(), demo.wait_for_log("listening on unix:", kStartLimit));
        CPPUNIT_ASSERT_MESSAGE(demo.log(), contains(demo.log(), "WARN"));
        CPPUNIT_ASSERT_MESSAGE(demo.log(), contains(demo.log(), "writable by every user"));
        CPPUNIT_ASSERT_EQUAL(200, fcgi_get(tmp.file("demo.sock"), "/").status);
        demo.signal(SIGTERM);
        CPPUNIT_ASSERT(demo.wait_exit(kExitLimit));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(demo.log(), 0, demo.exit_code());
    }

private:
    // The demo listening on `host` (0.0.0.0 unless given) with `args` and `env` answers a
    // request from 127.0.0.1 and stops with 0.
    void expect_serves(const std::vector<std::string>& args, const std::vector<std::string>& env,
                       const std::string& host = "0.0.0.0") {
        TempDir tmp;
        std::vector<std::string> argv = {demo_binary(), "--job-log", tmp.file("jobs.log")};
        argv.insert(argv.end(), args.begin(), args.end());
        int port = 0;
        std::unique_ptr<ChildProcess> started = start_on_free_port(host, argv, tmp.file("demo.log"), env, port, kStartLimit);
        ChildProcess& demo = *started;
        CPPUNIT_ASSERT_MESSAGE(demo.log(), contains(demo.log(), "listening on tcp:" + host + ":" + std::to_string(port)));
        FcgiConnection c = FcgiConnection::connect_tcp("127.0.0.1", port);
        FcgiResponse r = c.request(cgi_params("GET", "/"));
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), r.body);
        demo.signal(SIGTERM);
        CPPUNIT_ASSERT(demo.wait_exit(kExitLimit));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(demo.log(), 0, demo.exit_code());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DemoListenPolicyTest, "integration");
