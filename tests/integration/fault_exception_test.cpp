// Code inside the process that throws what it should not: a handler or a job throwing
// something that is not a std::exception (an int, a class of its own), or std::bad_alloc.
// In-process, with a real Server on a unix socket, a real JobQueue and the drain: the
// client gets a generic 500, the job counts as failed, each is logged, nothing leaves a
// thread, and the drain still ends with exit status 0 (failed is not lost).
#include "fcgihost/log.hpp"
#include "process/shutdown.hpp"

#include "support/fcgi_client.hpp"
#include "support/process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <fcgiapp.h>
#include <fcntl.h>
#include <unistd.h>

#include <new>
#include <stdexcept>

using namespace fcgihost;
using namespace fcgihost::testing_support;

namespace {

constexpr auto kLimit = std::chrono::seconds(30);  // bounds a hang; never reached when correct

struct NotAnException {
    int code;
};

// Log lines go to a file for the length of a test, then back to stderr.
class CapturedLog {
public:
    CapturedLog(const CapturedLog&) = delete;
    CapturedLog& operator=(const CapturedLog&) = delete;
    explicit CapturedLog(std::string path)
        : path_(std::move(path)), fd_(::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)) {
        log_set_fd(fd_);
    }
    ~CapturedLog() {
        log_set_fd(2);
        ::close(fd_);
    }
    std::string text() const { return read_file(path_); }

private:
    std::string path_;
    int fd_;
};

Response throwing_handler(const Request& r) {
    if (r.path() == "/int") throw 42;
    if (r.path() == "/own") throw NotAnException{7};
    if (r.path() == "/bad_alloc") throw std::bad_alloc();
    if (r.path() == "/string") throw std::string("secret detail");
    return Response::text(200, "hello\n");
}

}  // namespace

class FaultExceptionTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FaultExceptionTest);
    CPPUNIT_TEST(handlers_throwing_anything_get_a_generic_500_and_the_server_serves_on);
    CPPUNIT_TEST(jobs_throwing_anything_fail_alone_and_the_drain_completes);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { CPPUNIT_ASSERT_EQUAL(0, FCGX_Init()); }

    void handlers_throwing_anything_get_a_generic_500_and_the_server_serves_on() {
        TempDir dir;
        CapturedLog log(dir.file("log"));
        Listener listener = Listener::create_unix(dir.file("s.sock"), 0600, "", 16);
        Server server(listener, throwing_handler, ServerOptions{1, 1024, std::chrono::seconds(10)});
        server.start();
        for (const char* path : {"/int", "/own", "/bad_alloc?token=t0p", "/string"}) {
            FcgiResponse r = fcgi_get(dir.file("s.sock"), path);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(path, 500, r.status);
            CPPUNIT_ASSERT(r.body.find("secret") == std::string::npos);
            CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), fcgi_get(dir.file("s.sock"), "/").body);
        }
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(4), server.counts().handler_errors);
        server.begin_stop();
        CPPUNIT_ASSERT(server.wait_stopped_until(std::chrono::steady_clock::now() + kLimit));
        std::string text = log.text();
        // Each line names the method and path (never the query), so the route can be found.
        CPPUNIT_ASSERT(text.find("handler failed for GET /int: exception of unknown type") != std::string::npos);
        CPPUNIT_ASSERT(text.find("handler failed for GET /own: exception of unknown type") != std::string::npos);
        CPPUNIT_ASSERT(text.find("handler failed for GET /bad_alloc: std::bad_alloc") != std::string::npos);
        CPPUNIT_ASSERT(text.find("t0p") == std::string::npos);
        CPPUNIT_ASSERT(text.find("secret detail") == std::string::npos);
    }

    void jobs_throwing_anything_fail_alone_and_the_drain_completes() {
        TempDir dir;
        CapturedLog log(dir.file("log"));
        JobQueueOptions options;
        options.workers = 1;  // one worker: it must survive each throw to run the next job
        options.worker_nice = 0;
        JobQueue jobs(options);
        jobs.start();
        jobs.queue("int", [](const CancellationToken&) { throw 42; });
        jobs.queue("own", [](const CancellationToken&) { throw NotAnException{7}; });
        jobs.queue("bad_alloc", [](const CancellationToken&) { throw std::bad_alloc(); });
        jobs.queue("fine", [](const CancellationToken&) {});
        ShutdownSequence sequence(nullptr, jobs, DrainOptions{kLimit, kLimit});
        sequence.request_stop("test");
        DrainReport report = sequence.run();
        CPPUNIT_ASSERT_EQUAL(kExitDrained, report.exit_status);
        JobCounts counts = jobs.counts();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), counts.failed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), counts.completed);
        std::string text = log.text();
        CPPUNIT_ASSERT(text.find("job int failed: exception of unknown type") != std::string::npos);
        CPPUNIT_ASSERT(text.find("job own failed: exception of unknown type") != std::string::npos);
        CPPUNIT_ASSERT(text.find("job bad_alloc failed: std::bad_alloc") != std::string::npos);
        CPPUNIT_ASSERT(text.find("drain complete: jobs completed=1 failed=3") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(FaultExceptionTest, "integration");
