// Tests for fcgihost/request.hpp: building a Request from FastCGI params and a body.
#include "fcgihost/request.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <string>

using namespace fcgihost;

class RequestTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RequestTest);
    CPPUNIT_TEST(testMethod);
    CPPUNIT_TEST(testPathFromRequestUriWithoutQuery);
    CPPUNIT_TEST(testPathFallsBackToScriptNameAndPathInfo);
    CPPUNIT_TEST(testPathIsSlashWhenNothingGiven);
    CPPUNIT_TEST(testPathIsPercentDecoded);
    CPPUNIT_TEST(testInvalidPathEncodingIs400);
    CPPUNIT_TEST(testInvalidQueryEncodingIs400);
    CPPUNIT_TEST(testQueryValuesDecoded);
    CPPUNIT_TEST(testQueryFallbackAndHasQuery);
    CPPUNIT_TEST(testHeadersFromHttpParams);
    CPPUNIT_TEST(testContentTypeAndLengthAreHeaders);
    CPPUNIT_TEST(testHeaderLookupIgnoresCase);
    CPPUNIT_TEST(testParamIsRawLookup);
    CPPUNIT_TEST(testRemoteAddr);
    CPPUNIT_TEST(testBodyKeptByteExact);
    CPPUNIT_TEST_SUITE_END();

public:
    void testMethod() {
        Request r = Request::from_params({{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/"}}, "");
        CPPUNIT_ASSERT_EQUAL(std::string("POST"), r.method());
    }

    void testPathFromRequestUriWithoutQuery() {
        Request r = Request::from_params(
            {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/work?ms=5&id=a"}, {"QUERY_STRING", "ms=5&id=a"}}, "");
        CPPUNIT_ASSERT_EQUAL(std::string("/work"), r.path());
        CPPUNIT_ASSERT_EQUAL(std::string("ms=5&id=a"), r.query_string());
    }

    void testPathFallsBackToScriptNameAndPathInfo() {
        Request r = Request::from_params(
            {{"REQUEST_METHOD", "GET"}, {"SCRIPT_NAME", "/app"}, {"PATH_INFO", "/items/7"}}, "");
        CPPUNIT_ASSERT_EQUAL(std::string("/app/items/7"), r.path());
    }

    void testPathIsSlashWhenNothingGiven() {
        Request r = Request::from_params({{"REQUEST_METHOD", "GET"}}, "");
        CPPUNIT_ASSERT_EQUAL(std::string("/"), r.path());
    }

    void testPathIsPercentDecoded() {
        Request r = Request::from_params({{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/a%20b/c%2Fd?x=1"}}, "");
        CPPUNIT_ASSERT_EQUAL(std::string("/a b/c/d"), r.path());
        // '+' is only a space in queries, not in paths.
        Request plus = Request::from_params({{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/a+b"}}, "");
        CPPUNIT_ASSERT_EQUAL(std::string("/a+b"), plus.path());
    }

    void testInvalidPathEncodingIs400() {
        for (const char* uri : {"/bad%zz", "/bad%4", "/nul%00x"}) {
            try {
                Request::from_params({{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", uri}}, "");
                CPPUNIT_FAIL(std::string("no RequestError for ") + uri);
            } catch (const RequestError& e) {
                CPPUNIT_ASSERT_EQUAL_MESSAGE(uri, 400, e.status);
            }
        }
    }

    void testInvalidQueryEncodingIs400() {
        try {
            Request::from_params({{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/q?a=%zz"}, {"QUERY_STRING", "a=%zz"}},
                                 "");
            CPPUNIT_FAIL("no RequestError for a bad query escape");
        } catch (const RequestError& e) {
            CPPUNIT_ASSERT_EQUAL(400, e.status);
        }
    }

    void testQueryValuesDecoded() {
        Request r = Request::from_params(
            {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/s"}, {"QUERY_STRING", "q=hello+big%20world&id=a%26b"}}, "");
        CPPUNIT_ASSERT_EQUAL(std::string("hello big world"), r.query("q"));
        CPPUNIT_ASSERT_EQUAL(std::string("a&b"), r.query("id"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.query().size());
        CPPUNIT_ASSERT_EQUAL(std::string("q"), r.query()[0].first);
        CPPUNIT_ASSERT_EQUAL(std::string("id"), r.query()[1].first);
    }

    void testQueryFallbackAndHasQuery() {
        Request r = Request::from_params(
            {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/s"}, {"QUERY_STRING", "a=1&a=2&flag&empty="}}, "");
        CPPUNIT_ASSERT_EQUAL(std::string("1"), r.query("a"));  // first value wins
        CPPUNIT_ASSERT_EQUAL(std::string("dflt"), r.query("missing", "dflt"));
        CPPUNIT_ASSERT_EQUAL(std::string(), r.query("missing"));
        CPPUNIT_ASSERT_EQUAL(std::string(), r.query("empty", "dflt"));  // present but empty is not absent
        CPPUNIT_ASSERT(r.has_query("flag"));
        CPPUNIT_ASSERT(r.has_query("empty"));
        CPPUNIT_ASSERT(!r.has_query("missing"));
        CPPUNIT_ASSERT(!r.has_query("A"));
    }

    void testHeadersFromHttpParams() {
        Request r = Request::from_params({{"REQUEST_METHOD", "GET"},
                                          {"REQUEST_URI", "/"},
                                          {"HTTP_X_TRACE_ID", "abc123"},
                                          {"HTTP_USER_AGENT", "curl/7.88"},
                                          {"SERVER_NAME", "example"}},
                                         "");
        CPPUNIT_ASSERT_EQUAL(std::string("abc123"), r.header("x-trace-id"));
        CPPUNIT_ASSERT_EQUAL(std::string("curl/7.88"), r.header("user-agent"));
        bool saw_trace = false;
        for (const auto& nv : r.headers()) {
            CPPUNIT_ASSERT_MESSAGE("non-HTTP_ param became a header: " + nv.first, nv.first != "server-name");
            if (nv.first == "x-trace-id") saw_trace = true;
        }
        CPPUNIT_ASSERT_MESSAGE("header names are stored lower case with '-'", saw_trace);
    }

    void testContentTypeAndLengthAreHeaders() {
        Request r = Request::from_params({{"REQUEST_METHOD", "POST"},
                                          {"REQUEST_URI", "/echo"},
                                          {"CONTENT_TYPE", "application/json"},
                                          {"CONTENT_LENGTH", "2"}},
                                         "{}");
        CPPUNIT_ASSERT_EQUAL(std::string("application/json"), r.header("content-type"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"), r.header("content-length"));
    }

    void testHeaderLookupIgnoresCase() {
        Request r = Request::from_params({{"REQUEST_URI", "/"}, {"HTTP_X_TRACE_ID", "t1"}}, "");
        CPPUNIT_ASSERT_EQUAL(std::string("t1"), r.header("X-Trace-Id"));
        CPPUNIT_ASSERT_EQUAL(std::string("t1"), r.header("X-TRACE-ID"));
        CPPUNIT_ASSERT_EQUAL(std::string(), r.header("x-missing"));
    }

    void testParamIsRawLookup() {
        Request r = Request::from_params({{"REQUEST_METHOD", "GET"},
                                          {"REQUEST_URI", "/a%20b?x=%41"},
                                          {"QUERY_STRING", "x=%41"},
                                          {"SERVER_PORT", "8080"}},
                                         "");
        CPPUNIT_ASSERT_EQUAL(std::string("/a%20b?x=%41"), r.param("REQUEST_URI"));
        CPPUNIT_ASSERT_EQUAL(std::string("x=%41"), r.param("QUERY_STRING"));
        CPPUNIT_ASSERT_EQUAL(std::string("8080"), r.param("SERVER_PORT"));
        CPPUNIT_ASSERT_EQUAL(std::string(), r.param("NOT_SENT"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), r.params().size());
    }

    void testRemoteAddr() {
        Request r = Request::from_params({{"REQUEST_URI", "/"}, {"REMOTE_ADDR", "192.0.2.7"}}, "");
        CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.7"), r.remote_addr());
    }

    void testBodyKeptByteExact() {
        const std::string body("a\0b\r\n\xff", 6);
        Request r = Request::from_params({{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/echo"}}, body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), r.body().size());
        CPPUNIT_ASSERT(r.body() == body);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(RequestTest, "unit");
