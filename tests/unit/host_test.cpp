// Host: what constructing one does before any thread runs.
#include "fcgihost/host.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <string>

using namespace fcgihost;

class HostTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(HostTest);
    CPPUNIT_TEST(construction_takes_notify_socket_out_of_the_environment);
    CPPUNIT_TEST_SUITE_END();

public:
    // unsetenv() races with getenv() in any other thread, and run() starts workers and
    // request threads before it notifies systemd: the variable must be gone before that.
    void construction_takes_notify_socket_out_of_the_environment() {
        CPPUNIT_ASSERT_EQUAL(0, setenv("NOTIFY_SOCKET", "@fcgihost-host-test", 1));
        HostOptions options;
        options.workers = 1;
        Host host(options);
        const char* value = std::getenv("NOTIFY_SOCKET");
        const std::string left = value == nullptr ? "(unset)" : value;
        unsetenv("NOTIFY_SOCKET");
        CPPUNIT_ASSERT_EQUAL(std::string("(unset)"), left);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(HostTest, "unit");
