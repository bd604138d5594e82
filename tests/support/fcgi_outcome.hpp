// What a responder did with input a test sent it: the records it answered with, and
// whether it closed the connection. For bad-input tests, where "a clear answer" may be a
// response or a close and the test must tell a closed connection from a wedged one.
#pragma once

#include "support/fcgi_client.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fcgihost { namespace testing_support {

struct FcgiOutcome {
    std::vector<FcgiRecord> records;  // in arrival order
    bool closed = false;              // EOF or reset seen before the limit

    // Whether FCGI_END_REQUEST arrived for this id, and its protocol status (-1 if not).
    bool ended(std::uint16_t request_id = 1) const;
    int protocol_status(std::uint16_t request_id = 1) const;
    // The request's FCGI_STDOUT parsed as CGI output: the Status header's number (200
    // without one), 0 if nothing came.
    int status(std::uint16_t request_id = 1) const;
    std::string body(std::uint16_t request_id = 1) const;
    // True if a record of this type arrived (any request id).
    bool has_type(std::uint8_t type) const;
};

// Reads records until the peer closes or `limit` passes; never throws for EOF or reset.
FcgiOutcome fcgi_outcome(FcgiConnection& connection, std::chrono::milliseconds limit);

}}  // namespace fcgihost::testing_support
