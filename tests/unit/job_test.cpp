// Job: runs what it holds, is move-only, and lets a capture's throwing destructor reach
// reset() instead of ending the process.
#include "fcgihost/job.hpp"

#include "fcgihost/log.hpp"
#include "support/process.hpp"
#include "unit/throwing_capture.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <stdexcept>

using namespace fcgihost;
using fcgihost::test_support::Bomb;

class JobTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(JobTest);
    CPPUNIT_TEST(runs_its_callable_with_the_token);
    CPPUNIT_TEST(move_only_captures_are_accepted);
    CPPUNIT_TEST(reset_lets_a_throwing_destructor_reach_the_caller);
    CPPUNIT_TEST(destructor_swallows_a_throwing_capture);
    CPPUNIT_TEST(empty_job_throws_when_called);
    CPPUNIT_TEST_SUITE_END();

public:
    void runs_its_callable_with_the_token() {
        CancellationSource source;
        source.request_stop();
        bool saw_stopping = false;
        Job job = [&saw_stopping](const CancellationToken& t) { saw_stopping = t.stopping(); };
        CPPUNIT_ASSERT(static_cast<bool>(job));
        job(source.token());
        CPPUNIT_ASSERT(saw_stopping);
    }

    void move_only_captures_are_accepted() {
        auto value = std::make_unique<int>(7);
        int seen = 0;
        Job job = [value = std::move(value), &seen](const CancellationToken&) { seen = *value; };
        Job moved = std::move(job);
        CPPUNIT_ASSERT(!job);
        moved(CancellationToken());
        CPPUNIT_ASSERT_EQUAL(7, seen);
    }

    void reset_lets_a_throwing_destructor_reach_the_caller() {
        Job job = [bomb = Bomb::armed()](const CancellationToken&) {};
        CPPUNIT_ASSERT_THROW(job.reset(), std::runtime_error);
        CPPUNIT_ASSERT(!job);
        job.reset();  // empty now: nothing left to throw
    }

    void destructor_swallows_a_throwing_capture() {
        testing_support::TempDir dir;
        const std::string path = dir.file("log");
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        CPPUNIT_ASSERT(fd >= 0);
        log_set_fd(fd);
        {
            Job job = [bomb = Bomb::armed()](const CancellationToken&) {};
        }  // std::terminate here if the exception left ~Job
        log_set_fd(2);
        ::close(fd);
        CPPUNIT_ASSERT(testing_support::read_file(path).find(
                           "a job's captures threw while being destroyed (ignored): capture destructor threw") !=
                       std::string::npos);
    }

    void empty_job_throws_when_called() {
        Job job;
        CPPUNIT_ASSERT_THROW(job(CancellationToken()), std::bad_function_call);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(JobTest, "unit");
