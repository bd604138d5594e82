// cgi-fcgi (libfcgi-bin), the CGI-to-FastCGI bridge that ships with libfcgi, in front of a
// real fcgihost-demo: `cgi-fcgi -bind -connect SOCKET` with the CGI variables a web server
// would set. Hello, a 1 MiB echo, a job and its done line, 300 requests in a row, a 404, a
// request routed on SCRIPT_NAME + PATH_INFO when REQUEST_URI is missing, and a graceful stop
// of the demo under load.
#include "integration/frontend_checks.hpp"
#include "support/cgi_fcgi_client.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <memory>
#include <string>

using namespace fcgihost::testing_support;

namespace {

FrontClient cgi_fcgi_client(const std::string& socket) {
    return [socket]() -> FrontSend {
        return [socket](const std::string& method, const std::string& target, const std::string& body) {
            CgiFcgiReply r = cgi_fcgi_request(socket, cgi_variables(method, target, body.size()), body);
            FrontReply reply;
            reply.status = r.status;
            reply.body = r.body;
            if (r.status == 0) reply.error = "cgi-fcgi exit " + std::to_string(r.exit_code) + ": " + r.output;
            return reply;
        };
    };
}

}  // namespace

class CgiFcgiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CgiFcgiTest);
    CPPUNIT_TEST(root_answers_hello);
    CPPUNIT_TEST(echo_round_trips_one_mib);
    CPPUNIT_TEST(work_writes_its_done_line);
    CPPUNIT_TEST(three_hundred_in_a_row);
    CPPUNIT_TEST(unknown_route_is_404);
    CPPUNIT_TEST(without_request_uri_routes_on_script_name_and_path_info);
    CPPUNIT_TEST(graceful_stop_under_load);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { demo_.reset(new FrontDemo("")); }
    void tearDown() override { demo_.reset(); }

    void root_answers_hello() { check_hello(client()); }
    void echo_round_trips_one_mib() { check_echo_one_mib(client()); }
    void work_writes_its_done_line() { check_job_done(client(), demo_->job_log(), "gx1"); }
    void three_hundred_in_a_row() { check_sequential(client(), 300); }
    void unknown_route_is_404() { check_not_found(client()); }

    // What a server that splits the path sends (Caddy: SCRIPT_NAME empty, PATH_INFO the path).
    void without_request_uri_routes_on_script_name_and_path_info() {
        CgiFcgiReply r = cgi_fcgi_request(demo_->socket_path(),
                                          {"REQUEST_METHOD=GET", "SCRIPT_NAME=", "PATH_INFO=/work",
                                           "QUERY_STRING=ms=0&id=split", "CONTENT_LENGTH=0"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.output, 202, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("{\"id\":\"split\",\"queued\":true}\n"), r.body);
        CPPUNIT_ASSERT(wait_for_file_text(demo_->job_log(), "done split\n", std::chrono::seconds(10)));
    }

    // Once the socket path is gone cgi-fcgi cannot connect: it exits non-zero with no answer.
    void graceful_stop_under_load() {
        check_graceful_stop("cgi-fcgi", client(), *demo_, {0}, 4, 300, 100);
    }

private:
    FrontClient client() const { return cgi_fcgi_client(demo_->socket_path()); }

    std::unique_ptr<FrontDemo> demo_;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(CgiFcgiTest, "integration");
