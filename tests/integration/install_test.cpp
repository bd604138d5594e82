// `make install` into a scratch DESTDIR, then the README's handler test built with
// pkg-config against that installation alone, and run.
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

using namespace fcgihost::testing_support;

class InstallTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(InstallTest);
    CPPUNIT_TEST(readme_test_builds_and_passes_against_the_installation);
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
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(InstallTest, "integration");
