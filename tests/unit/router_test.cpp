// Tests for fcgihost/router.hpp: matching rules, 404/405, HEAD, replacement, exceptions.
#include "fcgihost/router.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <stdexcept>
#include <string>

using namespace fcgihost;

namespace {

Request make_request(const std::string& method, const std::string& uri) {
    return Request::from_params({{"REQUEST_METHOD", method}, {"REQUEST_URI", uri}}, "");
}

// A handler that answers 200 with `name`, so a test can tell which route ran.
Handler answer(const std::string& name) {
    return [name](const Request&) { return Response::text(200, name); };
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

class RouterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RouterTest);
    CPPUNIT_TEST(testExactMatch);
    CPPUNIT_TEST(testHandlerSeesRequest);
    CPPUNIT_TEST(testUnknownPathIs404);
    CPPUNIT_TEST(testWrongMethodIs405WithAllow);
    CPPUNIT_TEST(testHeadServedByGet);
    CPPUNIT_TEST(testExplicitHeadRouteServesHead);
    CPPUNIT_TEST(testPrefixMatchesBelowIt);
    CPPUNIT_TEST(testPrefixDoesNotMatchSiblingName);
    CPPUNIT_TEST(testExactWinsOverPrefix);
    CPPUNIT_TEST(testLongerPrefixWins);
    CPPUNIT_TEST(testReAddReplacesHandler);
    CPPUNIT_TEST(testHandlerExceptionPropagates);
    CPPUNIT_TEST_SUITE_END();

public:
    void testExactMatch() {
        Router router;
        router.get("/", answer("root")).get("/work", answer("work")).post("/echo", answer("echo"));
        CPPUNIT_ASSERT_EQUAL(std::string("work"), router.route(make_request("GET", "/work")).body());
        CPPUNIT_ASSERT_EQUAL(std::string("root"), router.route(make_request("GET", "/")).body());
        CPPUNIT_ASSERT_EQUAL(std::string("echo"), router.route(make_request("POST", "/echo")).body());
        // Exact means exact: neither a longer path nor a trailing slash matches.
        CPPUNIT_ASSERT_EQUAL(404, router.route(make_request("GET", "/work/x")).status());
        CPPUNIT_ASSERT_EQUAL(404, router.route(make_request("GET", "/work/")).status());
    }

    void testHandlerSeesRequest() {
        Router router;
        router.get("/work", [](const Request& r) { return Response::text(202, r.query("id")); });
        Request request = Request::from_params(
            {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/work?id=x7"}, {"QUERY_STRING", "id=x7"}}, "");
        Response response = router.route(request);
        CPPUNIT_ASSERT_EQUAL(202, response.status());
        CPPUNIT_ASSERT_EQUAL(std::string("x7"), response.body());
    }

    void testUnknownPathIs404() {
        Router router;
        router.get("/work", answer("work"));
        CPPUNIT_ASSERT_EQUAL(404, router.route(make_request("GET", "/nope")).status());
        CPPUNIT_ASSERT_EQUAL(404, Router().route(make_request("GET", "/")).status());
    }

    void testWrongMethodIs405WithAllow() {
        Router router;
        router.get("/item", answer("get")).add("PUT", "/item", answer("put")).post("/other", answer("other"));
        Response response = router.route(make_request("DELETE", "/item"));
        CPPUNIT_ASSERT_EQUAL(405, response.status());
        const std::string allow = response.header("Allow");
        CPPUNIT_ASSERT_MESSAGE("Allow: " + allow, contains(allow, "GET"));
        CPPUNIT_ASSERT_MESSAGE("Allow: " + allow, contains(allow, "PUT"));
        CPPUNIT_ASSERT_MESSAGE("Allow lists a method of another path: " + allow, !contains(allow, "POST"));
        CPPUNIT_ASSERT_EQUAL(405, router.route(make_request("GET", "/other")).status());
        CPPUNIT_ASSERT_EQUAL(std::string("POST"), router.route(make_request("GET", "/other")).header("Allow"));
    }

    void testHeadServedByGet() {
        Router router;
        router.get("/", answer("root"));
        Response response = router.route(make_request("HEAD", "/"));
        CPPUNIT_ASSERT_EQUAL(200, response.status());
        CPPUNIT_ASSERT_EQUAL(std::string("root"), response.body());
    }

    // A route registered for HEAD itself must answer HEAD; answering 405 with
    // "Allow: HEAD" to a HEAD request contradicts itself.
    void testExplicitHeadRouteServesHead() {
        Router router;
        router.add("HEAD", "/probe", answer("head"));
        Response response = router.route(make_request("HEAD", "/probe"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE("Allow: " + response.header("Allow"), 200, response.status());
        CPPUNIT_ASSERT_EQUAL(std::string("head"), response.body());
    }

    void testPrefixMatchesBelowIt() {
        Router router;
        router.get("/static/*", answer("static"));
        CPPUNIT_ASSERT_EQUAL(std::string("static"), router.route(make_request("GET", "/static/a/b")).body());
        CPPUNIT_ASSERT_EQUAL(std::string("static"), router.route(make_request("GET", "/static/a")).body());
    }

    void testPrefixDoesNotMatchSiblingName() {
        Router router;
        router.get("/static/*", answer("static"));
        CPPUNIT_ASSERT_EQUAL(404, router.route(make_request("GET", "/staticx")).status());
        CPPUNIT_ASSERT_EQUAL(404, router.route(make_request("GET", "/staticx/a")).status());
        CPPUNIT_ASSERT_EQUAL(404, router.route(make_request("GET", "/other/static/a")).status());
    }

    void testExactWinsOverPrefix() {
        // Both orders of registration, so the result cannot come from insertion order.
        Router first_prefix;
        first_prefix.get("/static/*", answer("prefix")).get("/static/index", answer("exact"));
        Router first_exact;
        first_exact.get("/static/index", answer("exact")).get("/static/*", answer("prefix"));
        for (const Router* router : {&first_prefix, &first_exact}) {
            CPPUNIT_ASSERT_EQUAL(std::string("exact"), router->route(make_request("GET", "/static/index")).body());
            CPPUNIT_ASSERT_EQUAL(std::string("prefix"), router->route(make_request("GET", "/static/other")).body());
        }
    }

    void testLongerPrefixWins() {
        Router short_first;
        short_first.get("/a/*", answer("short")).get("/a/b/*", answer("long"));
        Router long_first;
        long_first.get("/a/b/*", answer("long")).get("/a/*", answer("short"));
        for (const Router* router : {&short_first, &long_first}) {
            CPPUNIT_ASSERT_EQUAL(std::string("long"), router->route(make_request("GET", "/a/b/c")).body());
            CPPUNIT_ASSERT_EQUAL(std::string("short"), router->route(make_request("GET", "/a/c")).body());
        }
    }

    void testReAddReplacesHandler() {
        Router router;
        router.get("/x", answer("old")).get("/x", answer("new"));
        router.get("/p/*", answer("old prefix")).get("/p/*", answer("new prefix"));
        CPPUNIT_ASSERT_EQUAL(std::string("new"), router.route(make_request("GET", "/x")).body());
        CPPUNIT_ASSERT_EQUAL(std::string("new prefix"), router.route(make_request("GET", "/p/q")).body());
        // Same pattern, other method: a second route, not a replacement.
        router.post("/x", answer("post"));
        CPPUNIT_ASSERT_EQUAL(std::string("new"), router.route(make_request("GET", "/x")).body());
        CPPUNIT_ASSERT_EQUAL(std::string("post"), router.route(make_request("POST", "/x")).body());
    }

    void testHandlerExceptionPropagates() {
        Router router;
        router.get("/boom", [](const Request&) -> Response { throw std::runtime_error("boom"); });
        try {
            router.route(make_request("GET", "/boom"));
            CPPUNIT_FAIL("route() swallowed the handler's exception");
        } catch (const std::runtime_error& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("boom"), std::string(e.what()));
        }
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(RouterTest, "unit");
