// Tests for fcgihost/response.hpp: headers, header-injection refusal, the CGI head.
#include "fcgihost/response.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <stdexcept>
#include <string>

using namespace fcgihost;

namespace {

// A compact picture of a response's headers, so "unchanged" can be checked in one assert.
std::string show_headers(const Response& response) {
    std::string out;
    for (const auto& nv : response.headers()) out += nv.first + "=" + nv.second + ";";
    return out;
}

}  // namespace

class ResponseTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ResponseTest);
    CPPUNIT_TEST(testConstructorSetsContentType);
    CPPUNIT_TEST(testTextAndJsonFactories);
    CPPUNIT_TEST(testSetHeaderReplacesIgnoringCase);
    CPPUNIT_TEST(testAddHeaderKeepsBoth);
    CPPUNIT_TEST(testHeaderLookupIgnoresCase);
    CPPUNIT_TEST(testSetHeaderRefusesCrLfNulInValue);
    CPPUNIT_TEST(testAddHeaderRefusesCrLfNulInValue);
    CPPUNIT_TEST(testRefusesInvalidHeaderNames);
    CPPUNIT_TEST(testCgiHeadExactFormat);
    CPPUNIT_TEST(testCgiHeadDefaultContentType);
    CPPUNIT_TEST(testCgiHeadRepeatsAddedHeaders);
    CPPUNIT_TEST(testReasonPhrase);
    CPPUNIT_TEST_SUITE_END();

public:
    void testConstructorSetsContentType() {
        Response r(201, "made", "text/html");
        CPPUNIT_ASSERT_EQUAL(201, r.status());
        CPPUNIT_ASSERT_EQUAL(std::string("made"), r.body());
        CPPUNIT_ASSERT_EQUAL(std::string("text/html"), r.header("Content-Type"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), r.headers().size());
    }

    void testTextAndJsonFactories() {
        Response t = Response::text(404, "gone\n");
        CPPUNIT_ASSERT_EQUAL(404, t.status());
        CPPUNIT_ASSERT_EQUAL(std::string("text/plain; charset=utf-8"), t.header("Content-Type"));
        Response j = Response::json(202, "{}");
        CPPUNIT_ASSERT_EQUAL(std::string("application/json"), j.header("Content-Type"));
        CPPUNIT_ASSERT_EQUAL(std::string("{}"), j.body());
    }

    void testSetHeaderReplacesIgnoringCase() {
        Response r(200, "", "text/plain");
        r.set_header("X-Id", "1");
        r.set_header("x-id", "2");
        r.set_header("content-type", "application/json");
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.headers().size());
        CPPUNIT_ASSERT_EQUAL(std::string("2"), r.header("X-ID"));
        CPPUNIT_ASSERT_EQUAL(std::string("application/json"), r.header("Content-Type"));
    }

    void testAddHeaderKeepsBoth() {
        Response r;
        r.add_header("Set-Cookie", "a=1");
        r.add_header("Set-Cookie", "b=2");
        CPPUNIT_ASSERT_EQUAL(std::string("Set-Cookie=a=1;Set-Cookie=b=2;"), show_headers(r));
    }

    void testHeaderLookupIgnoresCase() {
        Response r;
        r.set_header("Cache-Control", "no-store");
        CPPUNIT_ASSERT_EQUAL(std::string("no-store"), r.header("cache-control"));
        CPPUNIT_ASSERT_EQUAL(std::string(), r.header("Expires"));
    }

    void testSetHeaderRefusesCrLfNulInValue() {
        const std::string bad_values[] = {"a\r\nSet-Cookie: evil=1", "a\rb", "a\nb", std::string("a\0b", 3)};
        for (const std::string& value : bad_values) {
            Response r(200, "body", "text/plain");
            r.set_header("X-Id", "kept");
            const std::string before = show_headers(r);
            CPPUNIT_ASSERT_THROW(r.set_header("X-Id", value), std::invalid_argument);
            CPPUNIT_ASSERT_THROW(r.set_header("X-Other", value), std::invalid_argument);
            CPPUNIT_ASSERT_EQUAL(before, show_headers(r));
        }
    }

    void testAddHeaderRefusesCrLfNulInValue() {
        const std::string bad_values[] = {"a\r\nLocation: /evil", "a\rb", "a\nb", std::string("a\0b", 3)};
        for (const std::string& value : bad_values) {
            Response r(200, "body", "text/plain");
            r.add_header("Set-Cookie", "a=1");
            const std::string before = show_headers(r);
            CPPUNIT_ASSERT_THROW(r.add_header("Set-Cookie", value), std::invalid_argument);
            CPPUNIT_ASSERT_EQUAL(before, show_headers(r));
        }
    }

    void testRefusesInvalidHeaderNames() {
        const std::string bad_names[] = {"X Id", "X:Id", "X-Id\r", "X-Id\r\nEvil", "X\nId", "", std::string("X\0", 2)};
        for (const std::string& name : bad_names) {
            Response r(200, "body", "text/plain");
            const std::string before = show_headers(r);
            CPPUNIT_ASSERT_THROW(r.set_header(name, "v"), std::invalid_argument);
            CPPUNIT_ASSERT_THROW(r.add_header(name, "v"), std::invalid_argument);
            CPPUNIT_ASSERT_EQUAL(before, show_headers(r));
        }
    }

    void testCgiHeadExactFormat() {
        Response r(404, "not here\n", "text/html");
        r.set_header("X-Id", "7");
        CPPUNIT_ASSERT_EQUAL(std::string("Status: 404 Not Found\r\nContent-Type: text/html\r\nX-Id: 7\r\n\r\n"),
                             r.cgi_head());
    }

    void testCgiHeadDefaultContentType() {
        Response r;
        CPPUNIT_ASSERT_EQUAL(200, r.status());
        CPPUNIT_ASSERT_EQUAL(std::string("Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"),
                             r.cgi_head());
        r.set_status(503);
        r.set_header("Retry-After", "5");
        CPPUNIT_ASSERT_EQUAL(
            std::string("Status: 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"),
            r.cgi_head());
    }

    void testCgiHeadRepeatsAddedHeaders() {
        Response r(200, "", "text/plain");
        r.add_header("Set-Cookie", "a=1");
        r.add_header("Set-Cookie", "b=2");
        CPPUNIT_ASSERT_EQUAL(
            std::string("Status: 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"),
            r.cgi_head());
    }

    void testReasonPhrase() {
        CPPUNIT_ASSERT_EQUAL(std::string("OK"), std::string(reason_phrase(200)));
        CPPUNIT_ASSERT_EQUAL(std::string("Accepted"), std::string(reason_phrase(202)));
        CPPUNIT_ASSERT_EQUAL(std::string("Not Found"), std::string(reason_phrase(404)));
        CPPUNIT_ASSERT_EQUAL(std::string("Method Not Allowed"), std::string(reason_phrase(405)));
        CPPUNIT_ASSERT_EQUAL(std::string("Payload Too Large"), std::string(reason_phrase(413)));
        CPPUNIT_ASSERT_EQUAL(std::string("Internal Server Error"), std::string(reason_phrase(500)));
        CPPUNIT_ASSERT_EQUAL(std::string("Service Unavailable"), std::string(reason_phrase(503)));
        CPPUNIT_ASSERT_EQUAL(std::string("Unknown"), std::string(reason_phrase(599)));
        CPPUNIT_ASSERT_EQUAL(std::string("Unknown"), std::string(reason_phrase(0)));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ResponseTest, "unit");
