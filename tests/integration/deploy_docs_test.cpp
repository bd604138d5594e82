// The deployment pages for HAProxy, lighttpd and Caddy show their sample configs in full:
// the text users read is the file the end-to-end tests run.
#include "support/frontend_process.hpp"
#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <string>

using namespace fcgihost::testing_support;

class DeployDocsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DeployDocsTest);
    CPPUNIT_TEST(each_page_shows_its_sample_as_it_is);
    CPPUNIT_TEST_SUITE_END();

public:
    void each_page_shows_its_sample_as_it_is() {
        const std::pair<const char*, const char*> pages[] = {
            {"deploy-haproxy.md", "haproxy.cfg"}, {"deploy-lighttpd.md", "lighttpd.conf"}, {"deploy-caddy.md", "Caddyfile"}};
        for (const auto& page : pages) {
            const std::string doc = read_file(repo_deploy_dir() + "/../" + page.first);
            const std::string sample = read_file(repo_deploy_dir() + "/" + page.second);
            CPPUNIT_ASSERT_MESSAGE(std::string("cannot read ") + page.second, !sample.empty());
            CPPUNIT_ASSERT_MESSAGE(std::string(page.first) + " does not show " + page.second + " as it is",
                                   doc.find("\n" + sample + "```") != std::string::npos);
        }
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DeployDocsTest, "integration");
