// FcgiInput (src/fcgi_input.hpp), the check between a connection and libfcgi, over a real
// socketpair: requests pass byte for byte and stop at their end, params over the limit and
// bad FCGI_GET_VALUES are refused before libfcgi sees the deciding byte, unknown management
// records are answered and dropped, the end-of-request padding is dropped, other versions,
// end of file and timeouts, and the OS_Read interposition with and without a Scope.
#include "fcgi_input.hpp"

#include "support/fcgi_client.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <fcgios.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>

using namespace fcgihost;
using namespace fcgihost::testing_support;

namespace {

// A connected pair: `web` plays the web server, `app` is what FcgiInput reads.
struct Wire {
    int web = -1;
    int app = -1;
    explicit Wire(long timeout_ms = 2000) {
        int fds[2];
        CPPUNIT_ASSERT_EQUAL(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
        web = fds[0];
        app = fds[1];
        timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        CPPUNIT_ASSERT_EQUAL(0, setsockopt(app, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
        CPPUNIT_ASSERT_EQUAL(0, setsockopt(web, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    }
    ~Wire() {
        if (web >= 0) ::close(web);
        ::close(app);
    }
    void send(const std::string& bytes) const {
        CPPUNIT_ASSERT_EQUAL(ssize_t(bytes.size()), ::send(web, bytes.data(), bytes.size(), MSG_NOSIGNAL));
    }
    // What the app side sent back to the web server: exactly `n` bytes, then nothing more.
    std::string answer(std::size_t n) const {
        std::string got;
        char buf[256];
        while (got.size() < n) {
            const ssize_t r = ::recv(web, buf, std::min(sizeof buf, n - got.size()), 0);
            if (r <= 0) break;
            got.append(buf, static_cast<std::size_t>(r));
        }
        errno = 0;
        CPPUNIT_ASSERT_EQUAL(ssize_t(-1), ::recv(web, buf, sizeof buf, MSG_DONTWAIT));
        CPPUNIT_ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
        return got;
    }
};

// What `read` (FcgiInput::read or OS_Read) hands on, 8192 bytes at a time as libfcgi asks,
// until `want` bytes came or it returns <= 0 (kept in `last`, errno in `error`).
template <class Read>
std::string collect(Read read, std::size_t want, ssize_t* last = nullptr, int* error = nullptr) {
    std::string got;
    char buf[8192];
    while (got.size() < want) {
        errno = 0;
        const ssize_t n = read(buf, sizeof buf);
        if (n <= 0) {
            if (last) *last = n;
            if (error) *error = errno;
            break;
        }
        got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
}

std::string collect(FcgiInput& in, std::size_t want, ssize_t* last = nullptr, int* error = nullptr) {
    return collect([&](char* b, std::size_t n) { return in.read(b, n); }, want, last, error);
}

// Reads until the input is refused; asserts what was handed on first, and why it stopped.
void assert_refused(FcgiInput& in, const std::string& handed_on, const std::string& why) {
    ssize_t last = 0;
    int error = 0;
    const std::string got = collect(in, SIZE_MAX, &last, &error);
    CPPUNIT_ASSERT_EQUAL(handed_on.size(), got.size());
    CPPUNIT_ASSERT(handed_on == got);
    CPPUNIT_ASSERT_EQUAL(ssize_t(-1), last);
    CPPUNIT_ASSERT_EQUAL(EPROTO, error);
    CPPUNIT_ASSERT_MESSAGE(in.refusal(), in.refusal().find(why) != std::string::npos);
}

// Reads until the input is refused; asserts that what was handed on first is the start of
// `sent` and stops short of its byte at `deciding`, the one that completed a refused claim.
void assert_refused_before(FcgiInput& in, const std::string& sent, std::size_t deciding, const std::string& why) {
    ssize_t last = 0;
    int error = 0;
    const std::string got = collect(in, SIZE_MAX, &last, &error);
    CPPUNIT_ASSERT(got.size() <= deciding);
    CPPUNIT_ASSERT(sent.compare(0, got.size(), got) == 0);
    CPPUNIT_ASSERT_EQUAL(ssize_t(-1), last);
    CPPUNIT_ASSERT_EQUAL(EPROTO, error);
    CPPUNIT_ASSERT_MESSAGE(in.refusal(), in.refusal().find(why) != std::string::npos);
}

std::string request(std::uint16_t id, const std::string& body) {
    return fcgi_request_bytes(cgi_params("POST", "/echo?id=" + std::to_string(id), body.size()), body, true, id);
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 + i / 251);
    return s;
}

// BEGIN, then params `encoded` split into two PARAMS records at `cut`, the empty PARAMS record,
// the empty STDIN record.
std::string params_request(const std::string& encoded, std::size_t cut) {
    return fcgi_begin_request(1, true) + fcgi_record(kFcgiParams, 1, encoded.substr(0, cut)) +
           fcgi_record(kFcgiParams, 1, encoded.substr(cut)) + fcgi_record(kFcgiParams, 1, "") +
           fcgi_record(kFcgiStdin, 1, "");
}

// Two pairs whose encoding is 700 bytes: (1 + 4 + 1 + 300) + (1 + 4 + 1 + 388).
std::string params_of_700() {
    return fcgi_encode_params({{"A", std::string(300, 'a')}, {"B", std::string(388, 'b')}});
}

const std::string kUnknown = fcgi_record(42, 0, "what?");
const std::string kUnknownAnswer("\x01\x0b\x00\x00\x00\x08\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00", 16);

}  // namespace

class FcgiInputTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FcgiInputTest);
    CPPUNIT_TEST(whole_request_is_handed_on_unchanged);
    CPPUNIT_TEST(reads_stop_at_the_end_of_a_request_and_keep_the_next_one);
    CPPUNIT_TEST(params_pair_over_a_small_limit_is_refused_before_its_last_length_byte);
    CPPUNIT_TEST(params_pair_claiming_gigabytes_is_refused_before_its_last_length_byte);
    CPPUNIT_TEST(params_of_exactly_the_limit_pass_across_records);
    CPPUNIT_TEST(params_one_byte_over_the_limit_across_records_are_refused);
    CPPUNIT_TEST(params_refused_in_a_later_read_keep_the_bytes_handed_on_before);
    CPPUNIT_TEST(get_values_that_fit_pass_and_overclaiming_ones_are_refused_whole);
    CPPUNIT_TEST(unknown_management_record_is_answered_and_dropped);
    CPPUNIT_TEST(unknown_management_record_that_cannot_be_answered_refuses_the_input);
    CPPUNIT_TEST(end_of_request_padding_is_dropped);
    CPPUNIT_TEST(padding_where_libfcgi_moves_on_is_dropped_so_it_hides_nothing);
    CPPUNIT_TEST(records_of_a_request_that_is_not_open_are_dropped);
    CPPUNIT_TEST(other_version_is_handed_on_as_header_then_refused);
    CPPUNIT_TEST(end_of_file_gives_zero_and_timeout_gives_eagain);
    CPPUNIT_TEST(os_read_goes_through_the_input_only_while_a_scope_lives);
    CPPUNIT_TEST_SUITE_END();

public:
    void whole_request_is_handed_on_unchanged() {
        Wire wire;
        FcgiInput in;
        in.bind(wire.app);
        const std::string req = request(1, pattern(20000));
        wire.send(req);
        CPPUNIT_ASSERT(req == collect(in, req.size()));
        CPPUNIT_ASSERT(in.refusal().empty());
    }

    void reads_stop_at_the_end_of_a_request_and_keep_the_next_one() {
        Wire wire;
        FcgiInput in;
        in.bind(wire.app);
        const std::string first = request(1, pattern(20000));
        const std::string second = request(2, "second body");
        wire.send(first + second);
        CPPUNIT_ASSERT(first == collect(in, first.size()));
        CPPUNIT_ASSERT(in.buffered());
        CPPUNIT_ASSERT(second == collect(in, second.size()));
        CPPUNIT_ASSERT(!in.buffered());
    }

    void params_pair_over_a_small_limit_is_refused_before_its_last_length_byte() {
        Wire wire;
        FcgiInput in(1000);
        in.bind(wire.app);
        // Name 1 byte, value claims 1000: 1 + 4 + 1 + 1000 > 1000. Byte 4 completes the claim.
        const std::string pairs = std::string("\x01\x80\x00\x03\xe8", 5) + "N" + std::string(40, 'v');
        const std::string head = fcgi_begin_request(1, true) + fcgi_record(kFcgiParams, 1, pairs);
        wire.send(head);
        assert_refused_before(in, head, 16 + 8 + 4, "FastCGI params over the limit");
    }

    void params_pair_claiming_gigabytes_is_refused_before_its_last_length_byte() {
        Wire wire;
        FcgiInput in;
        in.bind(wire.app);
        // Name and value each claim 0x73f3f3f3 bytes; byte 7 completes the claim.
        const std::string head = fcgi_begin_request(1, true) + fcgi_record(kFcgiParams, 1, std::string(16, '\xf3'));
        wire.send(head);
        assert_refused_before(in, head, 16 + 8 + 7, "FastCGI params over the limit");
    }

    void params_of_exactly_the_limit_pass_across_records() {
        Wire wire;
        FcgiInput in(1000);
        in.bind(wire.app);
        const std::string encoded = params_of_700() + fcgi_encode_params({{"D", std::string(294, 'd')}});
        CPPUNIT_ASSERT_EQUAL(std::size_t(1000), encoded.size());
        const std::string req = params_request(encoded, 450);  // the cut is inside the second pair
        wire.send(req);
        CPPUNIT_ASSERT(req == collect(in, req.size()));
        CPPUNIT_ASSERT(in.refusal().empty());
    }

    void params_one_byte_over_the_limit_across_records_are_refused() {
        Wire wire;
        FcgiInput in(1000);
        in.bind(wire.app);
        // 700 bytes in the first record, then a pair claiming 301 in the second: 1001.
        const std::string encoded = params_of_700() + fcgi_encode_params({{"D", std::string(295, 'd')}});
        const std::string req = params_request(encoded, 700);
        wire.send(req);
        // BEGIN, the first PARAMS record (700 + 4 padding), the second header, the pair's first 4 bytes.
        assert_refused_before(in, req, 16 + 8 + 704 + 8 + 4, "FastCGI params over the limit");
    }

    void params_refused_in_a_later_read_keep_the_bytes_handed_on_before() {
        Wire wire;
        FcgiInput in(1000);
        in.bind(wire.app);
        const std::string pairs = std::string("\x01\x80\x00\x03\xe8", 5) + "N";
        const std::string head = fcgi_begin_request(1, true) + fcgi_record(kFcgiParams, 1, pairs);
        wire.send(head.substr(0, 16 + 8 + 4));
        CPPUNIT_ASSERT(head.substr(0, 16 + 8 + 4) == collect(in, 16 + 8 + 4));
        wire.send(head.substr(16 + 8 + 4));
        assert_refused(in, "", "FastCGI params over the limit of 1000 bytes (a name-value pair claims 1006)");
    }

    void get_values_that_fit_pass_and_overclaiming_ones_are_refused_whole() {
        Wire wire;
        FcgiInput in;
        in.bind(wire.app);
        const std::string good =
            fcgi_record(kFcgiGetValues, 0, fcgi_encode_params({{"FCGI_MAX_CONNS", ""}, {"FCGI_MPXS_CONNS", ""}}));
        // The name claims 5 bytes, the record holds 2 after the lengths.
        const std::string bad = fcgi_record(kFcgiGetValues, 0, std::string("\x05\x00" "AB", 4));
        wire.send(good + bad + request(1, "after"));
        assert_refused(in, good, "FCGI_GET_VALUES");
    }

    void unknown_management_record_is_answered_and_dropped() {
        Wire wire;
        FcgiInput in;
        in.bind(wire.app);
        const std::string req = request(1, "body");
        wire.send(kUnknown + req);
        CPPUNIT_ASSERT(req == collect(in, req.size()));
        CPPUNIT_ASSERT(kUnknownAnswer == wire.answer(16));
    }

    void unknown_management_record_that_cannot_be_answered_refuses_the_input() {
        Wire wire;
        FcgiInput in;
        in.bind(wire.app);
        wire.send(kUnknown + request(1, "body"));
        CPPUNIT_ASSERT_EQUAL(0, ::shutdown(wire.web, SHUT_RD));  // the answer has nowhere to go
        assert_refused(in, "", "answering an unknown management record failed");
    }

    void end_of_request_padding_is_dropped() {
        Wire wire;
        FcgiInput in;
        in.bind(wire.app);
        const std::string params = fcgi_stream(kFcgiParams, 1, fcgi_encode_params({{"A", "b"}}));
        const std::string start = fcgi_begin_request(1, true) + params;
        const std::string end_padded("\x01\x05\x00\x01\x00\x00\x07\x00" "\x01\x02\x03\x04\x05\x06\x07", 15);
        const std::string end_clean("\x01\x05\x00\x01\x00\x00\x00\x00", 8);
        const std::string next = request(2, "next");
        wire.send(start + end_padded + next);
        const std::string expected = start + end_clean;
        CPPUNIT_ASSERT(expected == collect(in, expected.size()));
        CPPUNIT_ASSERT(next == collect(in, next.size()));
    }

    void padding_where_libfcgi_moves_on_is_dropped_so_it_hides_nothing() {
        // libfcgi reads the padding of the BEGIN record and of the empty PARAMS record as
        // the next record. Here each hides an FCGI_GET_VALUES claiming 2 GiB, which libfcgi
        // would have parsed unchecked (found by fuzz_fastcgi_stream).
        Wire wire;
        FcgiInput in;
        in.bind(wire.app);
        const std::string hidden = fcgi_record(kFcgiGetValues, 0, std::string(8, '\xf3'));
        auto padded = [&](std::string record) {
            record[6] = static_cast<char>(hidden.size());
            return record + hidden;
        };
        const std::string begin = fcgi_begin_request(1, true);
        const std::string params = fcgi_record(kFcgiParams, 1, fcgi_encode_params({{"A", "b"}}));
        const std::string params_end = fcgi_record(kFcgiParams, 1, "");
        const std::string body = fcgi_stream(kFcgiStdin, 1, "");
        wire.send(padded(begin) + params + padded(params_end) + body);
        const std::string expected = begin + params + params_end + body;
        CPPUNIT_ASSERT(expected == collect(in, expected.size()));
        CPPUNIT_ASSERT(in.refusal().empty());
        CPPUNIT_ASSERT(!in.buffered());
    }

    void records_of_a_request_that_is_not_open_are_dropped() {
        // libfcgi skips the content of the record after an empty one of another id; here
        // that would have been the request's params (found by fuzz_fastcgi_stream).
        Wire wire;
        FcgiInput in;
        in.bind(wire.app);
        const std::string params = fcgi_record(kFcgiParams, 1, fcgi_encode_params({{"A", "b"}}));
        const std::string rest = fcgi_record(kFcgiParams, 1, "") + fcgi_record(kFcgiStdin, 1, "");
        wire.send(fcgi_record(kFcgiStdin, 7, "before") + fcgi_begin_request(1, true) + fcgi_record(kFcgiParams, 2, "") +
                  params + fcgi_record(kFcgiAbortRequest, 3, "") + rest);
        const std::string expected = fcgi_begin_request(1, true) + params + rest;
        CPPUNIT_ASSERT(expected == collect(in, expected.size()));
        CPPUNIT_ASSERT(in.refusal().empty());
        CPPUNIT_ASSERT(!in.buffered());
    }

    void other_version_is_handed_on_as_header_then_refused() {
        Wire wire;
        FcgiInput in;
        in.bind(wire.app);
        const std::string v2 = fcgi_record(kFcgiBeginRequest, 1, std::string(8, '\0'), 2);
        wire.send(v2);
        assert_refused(in, v2.substr(0, 8), "unsupported FastCGI version");
    }

    void end_of_file_gives_zero_and_timeout_gives_eagain() {
        char buf[8192];
        Wire quiet(50);
        FcgiInput waiting;
        waiting.bind(quiet.app);
        errno = 0;
        CPPUNIT_ASSERT_EQUAL(ssize_t(-1), waiting.read(buf, sizeof buf));
        CPPUNIT_ASSERT(errno == EAGAIN || errno == EWOULDBLOCK);
        Wire closed;
        FcgiInput at_end;
        at_end.bind(closed.app);
        ::close(closed.web);
        closed.web = -1;
        CPPUNIT_ASSERT_EQUAL(ssize_t(0), at_end.read(buf, sizeof buf));
    }

    void os_read_goes_through_the_input_only_while_a_scope_lives() {
        Wire wire;
        FcgiInput in;
        in.bind(wire.app);
        const auto os_read = [&](char* b, std::size_t n) { return ssize_t(OS_Read(wire.app, b, n)); };
        const std::string req = request(1, "body");
        {
            FcgiInput::Scope scope(in);
            wire.send(kUnknown + req);
            CPPUNIT_ASSERT(req == collect(os_read, req.size()));
            CPPUNIT_ASSERT(kUnknownAnswer == wire.answer(16));
        }
        wire.send(kUnknown);
        CPPUNIT_ASSERT(kUnknown == collect(os_read, kUnknown.size()));
        CPPUNIT_ASSERT(wire.answer(0).empty());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(FcgiInputTest, "unit");
