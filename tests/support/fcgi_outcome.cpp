#include "support/fcgi_outcome.hpp"

#include <algorithm>
#include <cstdlib>
#include <strings.h>

namespace fcgihost { namespace testing_support {

namespace {

std::string stdout_text(const std::vector<FcgiRecord>& records, std::uint16_t id) {
    std::string out;
    for (const FcgiRecord& r : records) {
        if (r.type == kFcgiStdout && r.request_id == id) out += r.content;
    }
    return out;
}

}  // namespace

bool FcgiOutcome::ended(std::uint16_t id) const { return protocol_status(id) >= 0; }

int FcgiOutcome::protocol_status(std::uint16_t id) const {
    for (const FcgiRecord& r : records) {
        if (r.type == kFcgiEndRequest && r.request_id == id && r.content.size() >= 5) {
            return static_cast<unsigned char>(r.content[4]);
        }
    }
    return -1;
}

int FcgiOutcome::status(std::uint16_t id) const {
    std::string out = stdout_text(records, id);
    if (out.empty()) return 0;
    std::size_t head_end = out.find("\r\n\r\n");
    std::string head = out.substr(0, head_end);
    for (std::size_t at = 0; at < head.size();) {
        std::size_t eol = head.find("\r\n", at);
        std::string line = head.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
        if (strncasecmp(line.c_str(), "Status:", 7) == 0) return std::atoi(line.c_str() + 7);
        if (eol == std::string::npos) break;
        at = eol + 2;
    }
    return 200;
}

std::string FcgiOutcome::body(std::uint16_t id) const {
    std::string out = stdout_text(records, id);
    std::size_t head_end = out.find("\r\n\r\n");
    return head_end == std::string::npos ? std::string() : out.substr(head_end + 4);
}

bool FcgiOutcome::has_type(std::uint8_t type) const {
    for (const FcgiRecord& r : records) {
        if (r.type == type) return true;
    }
    return false;
}

FcgiOutcome fcgi_outcome(FcgiConnection& connection, std::chrono::milliseconds limit) {
    using Clock = std::chrono::steady_clock;
    FcgiOutcome outcome;
    const auto deadline = Clock::now() + limit;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return outcome;
        std::optional<FcgiRecord> record = connection.read_record(left);
        if (record) {
            outcome.records.push_back(*record);
            continue;
        }
        // No whole record: EOF, or the limit passed. Whatever partial record is buffered
        // is dropped; only a close ends the wait early.
        left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        outcome.closed = connection.peer_closed(std::max(left, std::chrono::milliseconds(0)));
        return outcome;
    }
}

}}  // namespace fcgihost::testing_support
