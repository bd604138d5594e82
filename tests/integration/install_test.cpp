// `make install` into a scratch DESTDIR, then programs built against that installation
// alone (with pkg-config and with CMake), and `make uninstall`; and the Makefile's
// conventions for a user's or a packager's build (tests/install/check-build.sh).
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

using namespace fcgihost::testing_support;

class InstallTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(InstallTest);
    CPPUNIT_TEST(readme_test_builds_and_passes_against_the_installation);
    CPPUNIT_TEST(make_honours_the_users_flags_and_packages);
    CPPUNIT_TEST_SUITE_END();

public:
    void readme_test_builds_and_passes_against_the_installation() {
        TempDir scratch;
        std::string build = demo_binary().substr(0, demo_binary().rfind('/'));
        std::vector<std::string> argv = {"/bin/sh", build + "/../tests/install/check-install.sh", build, scratch.path()};
        // A sanitizer build's library needs the same runtime in the program that links it.
#if defined(__SANITIZE_ADDRESS__)
        argv.push_back("-fsanitize=address,undefined");
#elif defined(__SANITIZE_THREAD__)
        argv.push_back("-fsanitize=thread");
#endif
        ChildProcess check(argv, scratch.file("check.log"));
        CPPUNIT_ASSERT_MESSAGE("install check did not finish", check.wait_exit(std::chrono::minutes(3)));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.log(), 0, check.exit_code());
        CPPUNIT_ASSERT_MESSAGE(check.log(), check.log().find("OK (") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(check.log(), check.log().find("install check passed") != std::string::npos);
    }

    void make_honours_the_users_flags_and_packages() {
        TempDir scratch;
        std::string build = demo_binary().substr(0, demo_binary().rfind('/'));
        ChildProcess check({"/bin/sh", build + "/../tests/install/check-build.sh", scratch.path()},
                           scratch.file("check.log"));
        CPPUNIT_ASSERT_MESSAGE("build check did not finish", check.wait_exit(std::chrono::minutes(2)));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.log(), 0, check.exit_code());
        CPPUNIT_ASSERT_MESSAGE(check.log(), check.log().find("build check passed") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(InstallTest, "integration");
