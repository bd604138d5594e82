// CppUnit assertions for responses: on failure they print the status and the body, which
// is what one wants to see when a handler answered something unexpected.
//
//     FCGIHOST_ASSERT_STATUS(202, response);
//     FCGIHOST_ASSERT_BODY("hello\n", response);
//     FCGIHOST_ASSERT_HEADER("application/json", "Content-Type", response);
#pragma once

#include "fcgihost/response.hpp"

#include <cppunit/TestAssert.h>

#include <string>

namespace fcgihost {
namespace testing {

// "status 503, body: {...}" (the body cut at 500 bytes).
inline std::string describe(const Response& response) {
    std::string body = response.body().size() > 500 ? response.body().substr(0, 500) + "..." : response.body();
    return "status " + std::to_string(response.status()) + ", body: " + body;
}

// The macros below call these so that `response` is evaluated once: it is often a call.
inline void assert_status(int expected, const Response& response, const CppUnit::SourceLine& line) {
    CppUnit::assertEquals(expected, response.status(), line, describe(response));
}
inline void assert_body(const std::string& expected, const Response& response, const CppUnit::SourceLine& line) {
    CppUnit::assertEquals(expected, response.body(), line, describe(response));
}
inline void assert_header(const std::string& expected, const std::string& name, const Response& response,
                          const CppUnit::SourceLine& line) {
    CppUnit::assertEquals(expected, response.header(name), line, describe(response) + " (header " + name + ")");
}

}  // namespace testing
}  // namespace fcgihost

#define FCGIHOST_ASSERT_STATUS(expected, response) \
    ::fcgihost::testing::assert_status((expected), (response), CPPUNIT_SOURCELINE())
#define FCGIHOST_ASSERT_BODY(expected, response) \
    ::fcgihost::testing::assert_body((expected), (response), CPPUNIT_SOURCELINE())
#define FCGIHOST_ASSERT_HEADER(expected, name, response) \
    ::fcgihost::testing::assert_header((expected), (name), (response), CPPUNIT_SOURCELINE())
