// RequestAssembler (src/fastcgi/request_assembler.hpp) alone, fed bytes as a web server sends them:
// whole requests come out rebuilt without padding, management records are answered, other
// roles, aborts and multiplexing get their FCGI_END_REQUEST, records of other requests are
// dropped, and everything malformed is refused, params claims as soon as they are known.
#include "fastcgi/request_assembler.hpp"

#include "support/fcgi_client.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

using namespace fcgihost;
using namespace fcgihost::testing_support;
using State = RequestAssembler::State;

namespace {

AssemblerLimits limits(std::size_t max_params = kMaxParamsBytes, std::size_t max_body = 1000, unsigned conns = 3) {
    return AssemblerLimits{max_params, max_body, conns};
}

// A record as the assembler rebuilds it: no padding.
std::string bare(std::uint8_t type, std::uint16_t id, const std::string& content) {
    std::string r = fcgi_record(type, id, content);
    r[6] = 0;
    return r.substr(0, 8 + content.size());
}

std::string begin_bare(std::uint16_t id, bool keep) {
    std::string r = fcgi_begin_request(id, keep);
    return r;  // 8 bytes of body: never padded
}

// The records in `bytes` (answers), padding dropped.
std::vector<FcgiRecord> records_in(const std::string& bytes) {
    std::vector<FcgiRecord> out;
    for (std::size_t at = 0; at + 8 <= bytes.size();) {
        const auto* h = reinterpret_cast<const unsigned char*>(bytes.data() + at);
        const std::size_t length = std::size_t(h[4]) << 8 | h[5];
        FcgiRecord r;
        r.version = h[0];
        r.type = h[1];
        r.request_id = static_cast<std::uint16_t>(h[2] << 8 | h[3]);
        r.content = bytes.substr(at + 8, length);
        out.push_back(r);
        at += 8 + length + h[6];
    }
    return out;
}

std::string end_request(std::uint16_t id, std::uint8_t protocol_status) {
    return bare(kFcgiEndRequest, id, std::string("\0\0\0\0", 4) + char(protocol_status) + std::string(3, '\0'));
}

std::string get_params(const std::string& uri = "/") { return fcgi_encode_params(cgi_params("GET", uri)); }

// A whole request as sent (padded records) and as handed on (bare records).
struct Request {
    std::string sent;
    std::string handed_on;
};
Request request(std::uint16_t id, bool keep, const std::string& params, const std::string& body = "") {
    Request r;
    r.sent = fcgi_begin_request(id, keep) + fcgi_stream(kFcgiParams, id, params) + fcgi_stream(kFcgiStdin, id, body);
    r.handed_on = begin_bare(id, keep) + bare(kFcgiParams, id, params) + bare(kFcgiParams, id, "");
    if (!body.empty()) r.handed_on += bare(kFcgiStdin, id, body);
    r.handed_on += bare(kFcgiStdin, id, "");
    return r;
}

void assert_refused(RequestAssembler& in, const std::string& why) {
    CPPUNIT_ASSERT(in.state() == State::refused);
    CPPUNIT_ASSERT_MESSAGE(in.refusal(), in.refusal().find(why) != std::string::npos);
}

}  // namespace

class RequestAssemblerTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RequestAssemblerTest);
    CPPUNIT_TEST(a_request_fed_byte_by_byte_comes_out_whole_and_unpadded);
    CPPUNIT_TEST(a_second_request_behind_the_first_is_kept_for_next);
    CPPUNIT_TEST(get_values_is_answered_at_once_with_each_known_name_once);
    CPPUNIT_TEST(get_values_whose_pairs_overclaim_is_refused);
    CPPUNIT_TEST(other_management_records_get_unknown_type_and_the_request_goes_on);
    CPPUNIT_TEST(padding_is_never_parsed_as_a_record);
    CPPUNIT_TEST(records_of_a_request_that_is_not_open_are_dropped_but_not_idle);
    CPPUNIT_TEST(roles_other_than_responder_get_unknown_role);
    CPPUNIT_TEST(a_second_begin_gets_cant_mpx_conn);
    CPPUNIT_TEST(abort_before_the_end_gets_request_complete_and_the_connection_goes_on);
    CPPUNIT_TEST(params_claims_over_the_limit_are_refused_before_their_data);
    CPPUNIT_TEST(params_of_exactly_the_limit_pass_across_records);
    CPPUNIT_TEST(params_that_end_inside_a_pair_are_refused);
    CPPUNIT_TEST(body_over_the_limit_is_handed_on_at_limit_plus_one);
    CPPUNIT_TEST(content_length_over_the_limit_hands_the_request_on_after_its_params);
    CPPUNIT_TEST(records_out_of_place_are_refused);
    CPPUNIT_TEST(read_from_reads_without_blocking);
    CPPUNIT_TEST_SUITE_END();

public:
    void a_request_fed_byte_by_byte_comes_out_whole_and_unpadded() {
        RequestAssembler in(limits());
        const Request r = request(1, false, get_params(), "a body");
        for (std::size_t i = 0; i + 1 < r.sent.size(); ++i) {
            CPPUNIT_ASSERT(in.feed(&r.sent[i], 1) == State::reading);
            CPPUNIT_ASSERT(!in.idle());
            CPPUNIT_ASSERT(in.mid_request());
        }
        CPPUNIT_ASSERT(in.feed(&r.sent.back(), 1) == State::complete);
        CPPUNIT_ASSERT(r.handed_on == in.records());
        CPPUNIT_ASSERT(!in.body_too_large());
        CPPUNIT_ASSERT(in.answers().empty());
    }

    void a_second_request_behind_the_first_is_kept_for_next() {
        RequestAssembler in(limits());
        const Request first = request(1, true, get_params());
        const Request second = request(2, true, get_params("/second"), "xyz");
        CPPUNIT_ASSERT(in.feed((first.sent + second.sent).data(), first.sent.size() + second.sent.size()) ==
                       State::complete);
        CPPUNIT_ASSERT(first.handed_on == in.records());
        CPPUNIT_ASSERT(in.next() == State::complete);
        CPPUNIT_ASSERT(second.handed_on == in.records());
        CPPUNIT_ASSERT(in.next() == State::reading);
        CPPUNIT_ASSERT(in.idle());
    }

    void get_values_is_answered_at_once_with_each_known_name_once() {
        // Four times FCGI_MAX_CONNS overflowed libfcgi's 64-byte answer buffer.
        RequestAssembler in(limits(kMaxParamsBytes, 1000, 7));
        const std::string query = fcgi_encode_params({{"FCGI_MAX_CONNS", ""}, {"FCGI_MAX_CONNS", ""},
                                                      {"FCGI_MAX_CONNS", ""}, {"FCGI_MAX_CONNS", ""},
                                                      {"FCGI_NOT_A_NAME", ""}, {"FCGI_MPXS_CONNS", ""},
                                                      {"FCGI_MAX_REQS", ""}});
        const std::string sent = fcgi_record(kFcgiGetValues, 0, query);
        CPPUNIT_ASSERT(in.feed(sent.data(), sent.size()) == State::reading);
        const std::vector<FcgiRecord> answers = records_in(in.answers());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), answers.size());
        CPPUNIT_ASSERT_EQUAL(kFcgiGetValuesResult, answers[0].type);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(0), answers[0].request_id);
        const FcgiParams expected = {{"FCGI_MAX_CONNS", "7"}, {"FCGI_MAX_REQS", "7"}, {"FCGI_MPXS_CONNS", "0"}};
        CPPUNIT_ASSERT(expected == fcgi_decode_params(answers[0].content));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), in.answers().size() % 8);  // padded to 8
    }

    void get_values_whose_pairs_overclaim_is_refused() {
        RequestAssembler in(limits());
        const std::string bad = fcgi_record(kFcgiGetValues, 0, std::string("\x05\x00" "AB", 4));
        in.feed(bad.data(), bad.size());
        assert_refused(in, "an FCGI_GET_VALUES record whose name-value pairs claim more than it holds");
        CPPUNIT_ASSERT(in.answers().empty());
    }

    void other_management_records_get_unknown_type_and_the_request_goes_on() {
        RequestAssembler in(limits());
        const Request r = request(1, false, get_params());
        const std::string params_end = fcgi_record(kFcgiParams, 1, "");
        const std::size_t cut = r.sent.find(params_end);
        // An FCGI_PARAMS record of id 0 claiming 2 GiB, inside the request: libfcgi read it as params.
        const std::string sent = fcgi_record(42, 0, "what?") + r.sent.substr(0, cut) +
                                 fcgi_record(kFcgiParams, 0, std::string("\x81\x00\x00\x00\xff\xff\xff\xff", 8)) +
                                 r.sent.substr(cut);
        CPPUNIT_ASSERT(in.feed(sent.data(), sent.size()) == State::complete);
        CPPUNIT_ASSERT(r.handed_on == in.records());
        const std::vector<FcgiRecord> answers = records_in(in.answers());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), answers.size());
        CPPUNIT_ASSERT_EQUAL(kFcgiUnknownType, answers[0].type);
        CPPUNIT_ASSERT_EQUAL(std::string("\x2a\0\0\0\0\0\0\0", 8), answers[0].content);
        CPPUNIT_ASSERT_EQUAL(std::string("\x04\0\0\0\0\0\0\0", 8), answers[1].content);
    }

    void padding_is_never_parsed_as_a_record() {
        // libfcgi read the padding of BEGIN and of the empty PARAMS and STDIN records as the
        // next record (found by fuzz_fastcgi_stream). Here it hides a GET_VALUES claiming 2 GiB.
        RequestAssembler in(limits());
        const std::string hidden = fcgi_record(kFcgiGetValues, 0, std::string(8, '\xf3'));
        auto padded = [&](std::string record) {
            record[6] = static_cast<char>(hidden.size());
            return record + hidden;
        };
        const std::string params = fcgi_encode_params({{"A", "b"}});
        const std::string sent = padded(fcgi_begin_request(1, false)) + fcgi_record(kFcgiParams, 1, params) +
                                 padded(fcgi_record(kFcgiParams, 1, "")) + padded(fcgi_record(kFcgiStdin, 1, ""));
        CPPUNIT_ASSERT(in.feed(sent.data(), sent.size()) == State::complete);
        CPPUNIT_ASSERT(request(1, false, params).handed_on == in.records());
        CPPUNIT_ASSERT(in.answers().empty());
    }

    void records_of_a_request_that_is_not_open_are_dropped_but_not_idle() {
        RequestAssembler in(limits());
        const std::string stray = fcgi_record(kFcgiStdin, 7, "before") + fcgi_record(kFcgiAbortRequest, 3, "");
        CPPUNIT_ASSERT(in.feed(stray.data(), stray.size()) == State::reading);
        CPPUNIT_ASSERT(in.answers().empty());
        // Not idle: a deadline runs, so that a peer sending such records cannot hold the connection.
        CPPUNIT_ASSERT(!in.idle());
        CPPUNIT_ASSERT(!in.mid_request());
        const Request r = request(1, false, get_params());
        const std::size_t cut = r.sent.find(fcgi_record(kFcgiParams, 1, ""));
        const std::string sent = r.sent.substr(0, cut) + fcgi_record(kFcgiParams, 2, "") + fcgi_record(kFcgiData, 1, "d") +
                                 r.sent.substr(cut);
        CPPUNIT_ASSERT(in.feed(sent.data(), sent.size()) == State::complete);
        CPPUNIT_ASSERT(r.handed_on == in.records());
    }

    void roles_other_than_responder_get_unknown_role() {
        for (std::uint16_t role : {kFcgiAuthorizer, kFcgiFilter, std::uint16_t(7)}) {
            for (bool keep : {true, false}) {
                RequestAssembler in(limits());
                const std::string sent = fcgi_begin_request(1, keep, role) + fcgi_stream(kFcgiParams, 1, get_params()) +
                                         fcgi_stream(kFcgiStdin, 1, "");
                const State state = in.feed(sent.data(), sent.size());
                CPPUNIT_ASSERT(end_request(1, kFcgiUnknownRole) == in.answers());
                CPPUNIT_ASSERT(state == (keep ? State::reading : State::finished));
                CPPUNIT_ASSERT(in.take_ended());
                CPPUNIT_ASSERT(!in.take_ended());
                if (keep) CPPUNIT_ASSERT(!in.idle());  // its dropped records came after the end
            }
        }
    }

    void a_second_begin_gets_cant_mpx_conn() {
        RequestAssembler in(limits());
        const Request r = request(1, false, get_params());
        const std::string sent = r.sent.substr(0, 16) + fcgi_begin_request(2, false) + r.sent.substr(16);
        CPPUNIT_ASSERT(in.feed(sent.data(), sent.size()) == State::complete);
        CPPUNIT_ASSERT(end_request(2, kFcgiCantMpxConn) == in.answers());
        CPPUNIT_ASSERT(r.handed_on == in.records());
        RequestAssembler same(limits());
        const std::string twice = fcgi_begin_request(1, false) + fcgi_begin_request(1, false);
        same.feed(twice.data(), twice.size());
        assert_refused(same, "a second FCGI_BEGIN_REQUEST");
    }

    void abort_before_the_end_gets_request_complete_and_the_connection_goes_on() {
        const std::string head = fcgi_begin_request(1, true) + fcgi_record(kFcgiParams, 1, get_params());
        const std::string in_body = head + fcgi_record(kFcgiParams, 1, "") + fcgi_record(kFcgiStdin, 1, "abc");
        for (const std::string& before : {head, in_body}) {
            RequestAssembler in(limits());
            const Request next = request(2, true, get_params("/next"));
            const std::string sent = before + fcgi_record(kFcgiAbortRequest, 1, "");
            CPPUNIT_ASSERT(in.feed(sent.data(), sent.size()) == State::reading);
            CPPUNIT_ASSERT(end_request(1, kFcgiRequestComplete) == in.answers());
            CPPUNIT_ASSERT(in.take_ended());
            CPPUNIT_ASSERT(in.idle());
            in.answers().clear();
            CPPUNIT_ASSERT(in.feed(next.sent.data(), next.sent.size()) == State::complete);
            CPPUNIT_ASSERT(next.handed_on == in.records());
        }
        RequestAssembler closing(limits());
        const std::string sent = fcgi_begin_request(1, false) + fcgi_record(kFcgiAbortRequest, 1, "");
        CPPUNIT_ASSERT(closing.feed(sent.data(), sent.size()) == State::finished);
        CPPUNIT_ASSERT(end_request(1, kFcgiRequestComplete) == closing.answers());
    }

    void params_claims_over_the_limit_are_refused_before_their_data() {
        RequestAssembler small(limits(1000));
        // Name 1 byte, value claims 1000: 1 + 4 + 1 + 1000 > 1000; the data never comes.
        const std::string claim = fcgi_begin_request(1, false) +
                                  fcgi_record(kFcgiParams, 1, std::string("\x01\x80\x00\x03\xe8", 5) + "N");
        small.feed(claim.data(), claim.size());
        assert_refused(small, "FastCGI params over the limit of 1000 bytes (a name-value pair claims 1006)");
        RequestAssembler big(limits());
        const std::string gigabytes =
            fcgi_begin_request(1, false) + fcgi_record(kFcgiParams, 1, std::string(16, '\xf3'));
        big.feed(gigabytes.data(), gigabytes.size());
        assert_refused(big, "FastCGI params over the limit of 1048576 bytes");
    }

    void params_of_exactly_the_limit_pass_across_records() {
        // (1 + 4 + 1 + 300) + (1 + 4 + 1 + 388) + (1 + 4 + 1 + 294) = 1000, cut inside a pair.
        const std::string encoded = fcgi_encode_params(
            {{"A", std::string(300, 'a')}, {"B", std::string(388, 'b')}, {"D", std::string(294, 'd')}});
        CPPUNIT_ASSERT_EQUAL(std::size_t(1000), encoded.size());
        RequestAssembler in(limits(1000));
        const std::string sent = fcgi_begin_request(1, false) + fcgi_record(kFcgiParams, 1, encoded.substr(0, 450)) +
                                 fcgi_record(kFcgiParams, 1, encoded.substr(450)) + fcgi_record(kFcgiParams, 1, "") +
                                 fcgi_record(kFcgiStdin, 1, "");
        CPPUNIT_ASSERT(in.feed(sent.data(), sent.size()) == State::complete);
        CPPUNIT_ASSERT(request(1, false, encoded).handed_on == in.records());
        RequestAssembler over(limits(999));
        over.feed(sent.data(), sent.size());
        assert_refused(over, "FastCGI params over the limit of 999 bytes");
    }

    void params_that_end_inside_a_pair_are_refused() {
        for (const std::string& content : {std::string("\x05\x64") + "HELLOabc", std::string("\x05"),
                                           std::string("\x85\x00")}) {
            RequestAssembler in(limits());
            const std::string sent = fcgi_begin_request(1, false) + fcgi_record(kFcgiParams, 1, content) +
                                     fcgi_record(kFcgiParams, 1, "");
            in.feed(sent.data(), sent.size());
            assert_refused(in, "FastCGI params that end inside a name-value pair");
        }
    }

    void body_over_the_limit_is_handed_on_at_limit_plus_one() {
        RequestAssembler in(limits(kMaxParamsBytes, 1000));
        const std::string params = fcgi_encode_params(cgi_params("POST", "/echo"));
        const std::string head = fcgi_begin_request(1, false) + fcgi_stream(kFcgiParams, 1, params);
        const std::string sent = head + fcgi_record(kFcgiStdin, 1, std::string(600, 'a')) +
                                 fcgi_record(kFcgiStdin, 1, std::string(600, 'b')) + fcgi_record(kFcgiStdin, 1, "more");
        CPPUNIT_ASSERT(in.feed(sent.data(), sent.size()) == State::complete);
        CPPUNIT_ASSERT(in.body_too_large());
        const std::string expected = begin_bare(1, false) + bare(kFcgiParams, 1, params) + bare(kFcgiParams, 1, "") +
                                     bare(kFcgiStdin, 1, std::string(600, 'a')) +
                                     bare(kFcgiStdin, 1, std::string(401, 'b'));
        CPPUNIT_ASSERT(expected == in.records());
        CPPUNIT_ASSERT(in.next() == State::finished);  // the rest of the body was never read
    }

    void content_length_over_the_limit_hands_the_request_on_after_its_params() {
        for (const std::string& length : {std::string("1001"), std::string("60000000000"), std::string(30, '9')}) {
            RequestAssembler in(limits(kMaxParamsBytes, 1000));
            const std::string params = fcgi_encode_params({{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", length}});
            const std::string sent = fcgi_begin_request(1, false) + fcgi_stream(kFcgiParams, 1, params);
            CPPUNIT_ASSERT_MESSAGE(length, in.feed(sent.data(), sent.size()) == State::complete);
            CPPUNIT_ASSERT(in.body_too_large());
        }
        RequestAssembler at_limit(limits(kMaxParamsBytes, 1000));
        const std::string params = fcgi_encode_params({{"CONTENT_LENGTH", "1000"}});
        const std::string sent = fcgi_begin_request(1, false) + fcgi_stream(kFcgiParams, 1, params);
        CPPUNIT_ASSERT(at_limit.feed(sent.data(), sent.size()) == State::reading);
    }

    void records_out_of_place_are_refused() {
        const std::string head = fcgi_begin_request(1, false) + fcgi_record(kFcgiParams, 1, get_params());
        struct Case {
            std::string bytes;
            std::string why;
        };
        const std::vector<Case> cases = {
            {head + fcgi_record(kFcgiStdin, 1, "x"), "an FCGI_STDIN record before the end of the params"},
            {head + fcgi_record(kFcgiParams, 1, "") + fcgi_record(kFcgiParams, 1, "x"), "after the end of the params"},
            {fcgi_record(kFcgiBeginRequest, 0, std::string("\0\1\0\0\0\0\0\0", 8)), "with request id 0"},
            {fcgi_record(kFcgiBeginRequest, 1, std::string("\0\1\0", 3)), "of 3 bytes (8 expected)"},
            {fcgi_record(kFcgiBeginRequest, 1, std::string(8, '\0'), 2), "unsupported FastCGI version"},
            {"GET / HTTP/1.1\r\n", "unsupported FastCGI version"},
        };
        for (const Case& c : cases) {
            RequestAssembler in(limits());
            in.feed(c.bytes.data(), c.bytes.size());
            assert_refused(in, c.why);
        }
    }

    void read_from_reads_without_blocking() {
        int fds[2];
        CPPUNIT_ASSERT_EQUAL(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
        RequestAssembler in(limits());
        CPPUNIT_ASSERT(in.read_from(fds[1]) == RequestAssembler::Input::would_block);
        CPPUNIT_ASSERT(in.idle());
        const Request r = request(1, true, get_params());
        const std::string two = r.sent + r.sent;
        CPPUNIT_ASSERT_EQUAL(ssize_t(two.size()), ::send(fds[0], two.data(), two.size(), 0));
        CPPUNIT_ASSERT(in.read_from(fds[1]) == RequestAssembler::Input::stopped);
        CPPUNIT_ASSERT(in.state() == State::complete);
        CPPUNIT_ASSERT(in.next() == State::complete);
        CPPUNIT_ASSERT(in.next() == State::reading);
        ::close(fds[0]);
        CPPUNIT_ASSERT(in.read_from(fds[1]) == RequestAssembler::Input::end);
        ::close(fds[1]);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(RequestAssemblerTest, "unit");
