// Server in-process, on a real unix socket, with handlers the tests control: errors,
// body checks, the stop with idle threads, idle kept connections and the backlog.
#include "fastcgi/server.hpp"

#include "support/fcgi_client.hpp"
#include "support/fcgi_outcome.hpp"
#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <fcgiapp.h>

#include <future>
#include <memory>
#include <stdexcept>

using namespace fcgihost;
using namespace fcgihost::testing_support;

namespace {

constexpr auto kLimit = std::chrono::seconds(30);  // bounds a hang; never reached when correct

std::chrono::steady_clock::time_point in_limit() { return std::chrono::steady_clock::now() + kLimit; }

// A listener and a server on it, in a temp dir.
struct Served {
    TempDir dir;
    std::string path = dir.file("s.sock");
    Listener listener = Listener::create_unix(path, 0600, "", 64);
    Server server;
    Served(Handler handler, unsigned threads = 2, std::size_t max_body = 1024)
        : server(listener, std::move(handler), ServerOptions{threads, max_body, std::chrono::seconds(10)}) {
        server.start();
    }
};

Response hello(const Request&) { return Response::text(200, "hello\n"); }

}  // namespace

class ServerTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ServerTest);
    CPPUNIT_TEST(throwing_handler_gets_a_generic_500);
    CPPUNIT_TEST(header_injection_becomes_a_500);
    CPPUNIT_TEST(body_shorter_or_longer_than_content_length_is_400);
    CPPUNIT_TEST(head_gets_headers_without_body);
    CPPUNIT_TEST(stop_with_every_thread_idle_ends_the_threads);
    CPPUNIT_TEST(stop_closes_idle_kept_connections);
    CPPUNIT_TEST(connections_waiting_at_the_stop_are_served);
    CPPUNIT_TEST(requests_on_kept_connections_at_the_stop_are_served);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { CPPUNIT_ASSERT_EQUAL(0, FCGX_Init()); }

    void throwing_handler_gets_a_generic_500() {
        Served s([](const Request& r) -> Response {
            if (r.path() == "/boom") throw std::runtime_error("secret detail");
            return hello(r);
        });
        FcgiResponse r = fcgi_get(s.path, "/boom");
        CPPUNIT_ASSERT_EQUAL(500, r.status);
        CPPUNIT_ASSERT(r.body.find("secret") == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), fcgi_get(s.path, "/").body);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), s.server.counts().handler_errors);
    }

    void header_injection_becomes_a_500() {
        Served s([](const Request& r) {
            Response response = Response::text(200, "x");
            response.set_header("X-Echo", r.query("v"));
            return response;
        });
        FcgiResponse r = fcgi_get(s.path, "/?v=a%0d%0aSet-Cookie:%20evil=1");
        CPPUNIT_ASSERT_EQUAL(500, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string(""), r.header("Set-Cookie"));
        CPPUNIT_ASSERT_EQUAL(std::string("ok"), fcgi_get(s.path, "/?v=ok").header("X-Echo"));
    }

    void body_shorter_or_longer_than_content_length_is_400() {
        Served s([](const Request& r) { return Response::text(200, r.body()); });
        FcgiConnection shorter = FcgiConnection::connect_unix(s.path);
        CPPUNIT_ASSERT_EQUAL(400, shorter.request(cgi_params("POST", "/", 10), "12345").status);
        FcgiConnection longer = FcgiConnection::connect_unix(s.path);
        CPPUNIT_ASSERT_EQUAL(400, longer.request(cgi_params("POST", "/", 3), "12345").status);
        CPPUNIT_ASSERT_EQUAL(413, fcgi_post(s.path, "/", std::string(1025, 'x')).status);
        CPPUNIT_ASSERT_EQUAL(std::string("12345"), fcgi_post(s.path, "/", "12345").body);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), s.server.counts().bad_requests);
    }

    void head_gets_headers_without_body() {
        Served s(hello);
        FcgiConnection c = FcgiConnection::connect_unix(s.path);
        FcgiResponse r = c.request(cgi_params("HEAD", "/"));
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string(""), r.body);
    }

    void stop_with_every_thread_idle_ends_the_threads() {
        Served s(hello, 8);
        CPPUNIT_ASSERT_EQUAL(200, fcgi_get(s.path, "/").status);
        s.server.begin_stop();
        // Threads blocked in accept() would never see the stop; these must all end.
        CPPUNIT_ASSERT(s.server.wait_stopped_until(in_limit()));
        CPPUNIT_ASSERT_THROW(FcgiConnection::connect_unix(s.path), FcgiError);
    }

    void stop_closes_idle_kept_connections() {
        Served s(hello, 1);
        FcgiConnection kept = FcgiConnection::connect_unix(s.path);
        CPPUNIT_ASSERT_EQUAL(200, kept.request(cgi_params("GET", "/"), "", true).status);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), s.server.counts().connections);
        s.server.begin_stop();
        CPPUNIT_ASSERT(s.server.wait_stopped_until(in_limit()));
        CPPUNIT_ASSERT(kept.peer_closed(std::chrono::seconds(10)));
    }

    void connections_waiting_at_the_stop_are_served() {
        std::promise<void> first_started;
        std::promise<void> release;
        std::shared_future<void> released = release.get_future().share();
        Served s(
            [&](const Request& r) {
                if (r.path() == "/first") {
                    first_started.set_value();
                    released.wait();
                }
                return hello(r);
            },
            1);
        std::future<int> first = std::async(std::launch::async, [&] { return fcgi_get(s.path, "/first").status; });
        first_started.get_future().get();
        // The only thread is busy: these wait in the backlog, or connected but unread.
        // Connections first: destroyed last, after the futures whose threads use them.
        std::vector<std::unique_ptr<FcgiConnection>> connections;
        std::vector<std::future<std::string>> waiting;
        for (int i = 0; i < 5; ++i) {
            connections.emplace_back(new FcgiConnection(FcgiConnection::connect_unix(s.path)));
        }
        for (auto& c : connections) {
            FcgiConnection* conn = c.get();
            waiting.push_back(std::async(std::launch::async, [conn] { return conn->request(cgi_params("GET", "/")).body; }));
        }
        s.server.begin_stop();
        release.set_value();
        CPPUNIT_ASSERT_EQUAL(200, first.get());
        for (auto& w : waiting) CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), w.get());
        CPPUNIT_ASSERT(s.server.wait_stopped_until(in_limit()));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(6), s.server.counts().served);
    }

    void requests_on_kept_connections_at_the_stop_are_served() {
        // Two kept connections that have served a request, and so are idle, send again
        // while the only thread is busy: one a whole request, one half of it (the rest
        // after the stop). The stop reads what they hold before it decides: neither is
        // closed under its request.
        std::promise<void> first_started;
        std::promise<void> release;
        std::shared_future<void> released = release.get_future().share();
        Served s(
            [&](const Request& r) {
                if (r.path() == "/first") {
                    first_started.set_value();
                    released.wait();
                }
                return hello(r);
            },
            1);
        FcgiConnection whole = FcgiConnection::connect_unix(s.path);
        FcgiConnection half = FcgiConnection::connect_unix(s.path);
        CPPUNIT_ASSERT_EQUAL(200, whole.request(cgi_params("GET", "/"), "", true).status);
        CPPUNIT_ASSERT_EQUAL(200, half.request(cgi_params("GET", "/"), "", true).status);
        std::future<int> first = std::async(std::launch::async, [&] { return fcgi_get(s.path, "/first").status; });
        first_started.get_future().get();
        const std::string again = fcgi_request_bytes(cgi_params("GET", "/"), "", true, 2);
        whole.send_raw(again);
        half.send_raw(again.substr(0, 20));
        s.server.begin_stop();
        release.set_value();
        CPPUNIT_ASSERT_EQUAL(200, first.get());
        half.send_raw(again.substr(20));
        for (FcgiConnection* c : {&whole, &half}) {
            FcgiOutcome o = fcgi_outcome(*c, std::chrono::seconds(10));
            CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), o.body(2));
            CPPUNIT_ASSERT(o.closed);  // idle again, at the stop
        }
        CPPUNIT_ASSERT(s.server.wait_stopped_until(in_limit()));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ServerTest, "unit");
