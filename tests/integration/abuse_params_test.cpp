// Hostile FastCGI params against a real fcgihost-demo (docs/contract.md#bad-input): name-value lengths
// that claim more than is sent, a params stream that breaks off, claims of 1 GiB and of
// 2 GiB or more (which made libfcgi 2.4.2 abort the process until fcgihost checked them
// before libfcgi saw them), very many params and very large ones.
#include "integration/demo_process.hpp"
#include "support/log_text.hpp"
#include "support/fcgi_outcome.hpp"
#include "support/proc_stats.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <sys/socket.h>

#include <iostream>

using namespace fcgihost::testing_support;

namespace {

constexpr auto kBound = std::chrono::seconds(10);  // far above --io-timeout: reached only when wedged
const std::string kMalformed = "closed a connection: malformed FastCGI input";
const std::string kOverLimit = "FastCGI params over the limit of 1048576 bytes";
constexpr std::size_t kParamsLimit = 1024 * 1024;  // src/fastcgi/request_assembler.hpp, kMaxParamsBytes

// A name-value length in the 4-byte form, whatever its size.
std::string long_length(std::uint32_t n) {
    std::string out;
    out.push_back(static_cast<char>(((n >> 24) & 0x7f) | 0x80));
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    out.push_back(static_cast<char>(n & 0xff));
    return out;
}

long long jobs_accepted(const DemoProcess& demo) { return status_number(demo.get("/status").body, "accepted"); }

}  // namespace

class AbuseParamsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AbuseParamsTest);
    CPPUNIT_TEST(lengths_claiming_more_than_is_sent_are_closed_and_logged);
    CPPUNIT_TEST(params_cut_short_never_reach_the_handler);
    CPPUNIT_TEST(a_claim_over_the_params_limit_is_refused_before_anything_is_reserved);
    CPPUNIT_TEST(claims_that_aborted_libfcgi_are_refused_and_the_process_serves_on);
    CPPUNIT_TEST(very_many_params_are_served_and_their_memory_is_reused);
    CPPUNIT_TEST(params_up_to_the_limit_are_served_and_beyond_it_refused);
    CPPUNIT_TEST_SUITE_END();

public:
    void lengths_claiming_more_than_is_sent_are_closed_and_logged() {
        DemoProcess demo({"--threads", "1", "--io-timeout", "500ms"});
        const std::vector<std::string> claims = {
            std::string("\x05\x64") + "HELLOabc",             // value of 100, 3 sent, record ends
            long_length(1000) + "\x01" + "NAME",              // name of 1000 in the 4-byte form
            std::string("\x05"),                               // a name length, no value length
            std::string("\x85\x00"),                           // a 4-byte length cut after 2 bytes
        };
        for (const std::string& content : claims) {
            FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
            c.send_raw(fcgi_begin_request(1, false) + fcgi_record(kFcgiParams, 1, content) +
                       fcgi_record(kFcgiParams, 1, "") + fcgi_stream(kFcgiStdin, 1, ""));
            FcgiOutcome o = fcgi_outcome(c, kBound);
            CPPUNIT_ASSERT(o.closed);
            CPPUNIT_ASSERT(!o.ended());
            CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        }
        CPPUNIT_ASSERT_EQUAL(claims.size(), occurrences(demo.log(), kMalformed));
    }

    void params_cut_short_never_reach_the_handler() {
        // libfcgi ends the params at a stream error as though they were complete; a request
        // made of what came before the cut must not run (here it would queue a job).
        DemoProcess demo({"--threads", "1", "--io-timeout", "300ms"});
        const std::string whole_params = fcgi_encode_params(cgi_params("GET", "/work?ms=0&id=cut"));
        const std::string cut_params = fcgi_encode_params({{"REQUEST_METHOD", "GET"},
                                                           {"REQUEST_URI", "/work?ms=0&id=cut"},
                                                           {"QUERY_STRING", "ms=0&id=cut"}});
        const std::string head = fcgi_begin_request(1, false) + fcgi_record(kFcgiParams, 1, cut_params);
        struct Cut {
            std::string bytes;
            bool shut_write;
            std::string logged;
        };
        const std::vector<Cut> cuts = {
            {head, true, "the web server closed it before its request was complete (in its params)"},
            {head, false, "no complete request within --io-timeout (in its params)"},
            {head + fcgi_record(kFcgiStdin, 1, "x"), false, "an FCGI_STDIN record before the end of the params"},
            {head + fcgi_record(kFcgiParams, 1, whole_params, 2), false, "unsupported FastCGI version"},
        };
        for (const Cut& cut : cuts) {
            FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
            c.send_raw(cut.bytes);
            if (cut.shut_write) ::shutdown(c.fd(), SHUT_WR);
            FcgiOutcome o = fcgi_outcome(c, kBound);
            CPPUNIT_ASSERT(o.closed);
            CPPUNIT_ASSERT_MESSAGE("a request with params cut short was answered", !o.ended());
            CPPUNIT_ASSERT_MESSAGE(cut.logged, demo.process().wait_for_log(cut.logged, kBound));
        }
        // An abort is answered (FCGI_END_REQUEST), and still nothing runs.
        FcgiConnection aborted = FcgiConnection::connect_unix(demo.socket_path());
        aborted.send_raw(head + fcgi_record(kFcgiAbortRequest, 1, ""));
        FcgiOutcome o = fcgi_outcome(aborted, kBound);
        CPPUNIT_ASSERT_EQUAL(int(kFcgiRequestComplete), o.protocol_status());
        CPPUNIT_ASSERT_EQUAL(0, o.status());
        CPPUNIT_ASSERT_EQUAL(0LL, jobs_accepted(demo));
        CPPUNIT_ASSERT_EQUAL(202, demo.get("/work?ms=0&id=whole").status);
    }

    void a_claim_over_the_params_limit_is_refused_before_anything_is_reserved() {
        // libfcgi allocates what a length claims before it reads the data; the claim now
        // never reaches it.
        DemoProcess demo({"--threads", "1"});
        const pid_t pid = demo.process().pid();
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        const long vm_before = proc_vm_size_kib(pid);
        FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
        c.send_raw(fcgi_begin_request(1, false) +
                   fcgi_record(kFcgiParams, 1, long_length(1u << 30) + "\x00" + std::string(60000, 'a')));
        FcgiOutcome o = fcgi_outcome(c, kBound);  // closed at once: no --io-timeout is set here
        CPPUNIT_ASSERT(o.closed);
        CPPUNIT_ASSERT(!o.ended());
        CPPUNIT_ASSERT(demo.process().wait_for_log(kOverLimit, kBound));
        CPPUNIT_ASSERT(proc_vm_size_kib(pid) - vm_before < 64 * 1024);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
    }

    void claims_that_aborted_libfcgi_are_refused_and_the_process_serves_on() {
        // The inputs of tests/fuzz/regressions/: lengths adding up to 2 GiB or more, in
        // FCGI_PARAMS and in FCGI_GET_VALUES (which libfcgi reads at any point of a
        // connection, here in the middle of a body). Each one made the process exit 134.
        DemoProcess demo({"--threads", "1", "--io-timeout", "2s"});
        const std::string huge_pair = long_length(0x73f3f3f3) + long_length(0x73f3f3f3) + "REQUEST_METHOD";
        const std::string post_head = fcgi_begin_request(1, false) +
                                      fcgi_stream(kFcgiParams, 1, fcgi_encode_params(cgi_params("POST", "/echo", 10)));
        const std::vector<std::string> inputs = {
            fcgi_begin_request(1, false) + fcgi_record(kFcgiParams, 1, huge_pair),
            fcgi_record(kFcgiGetValues, 0, huge_pair),
            post_head + fcgi_record(kFcgiStdin, 1, "abc") + fcgi_record(kFcgiGetValues, 0, huge_pair),
        };
        for (const std::string& bytes : inputs) {
            FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
            c.send_raw(bytes);
            FcgiOutcome o = fcgi_outcome(c, kBound);
            CPPUNIT_ASSERT(o.closed);
            CPPUNIT_ASSERT(o.status() == 0 || o.status() == 400);
            CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
        }
        // Padding that libfcgi reads as a record (tests/fuzz/regressions/): dropped unread.
        std::string begin = fcgi_begin_request(1, false);
        const std::string hidden = fcgi_record(kFcgiGetValues, 0, huge_pair);
        begin[6] = static_cast<char>(hidden.size());
        FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
        c.send_raw(begin + hidden + fcgi_stream(kFcgiParams, 1, fcgi_encode_params(cgi_params("GET", "/"))) +
                   fcgi_stream(kFcgiStdin, 1, ""));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), fcgi_outcome(c, kBound).body());

        // An empty record of another request made libfcgi skip the next record's content,
        // then parse the params from another place than the check had (regressions/): a
        // value the check had counted as value bytes was, to libfcgi, a 2 GiB claim.
        const std::string claim = long_length(0x73f3f3f3) + long_length(0x73f3f3f3);
        const std::string value_start = "\x01\x7f" "N" + std::string(100, 'v');  // 127 claimed, 100 here
        const std::string value_end = claim + std::string(127 - 100 - claim.size(), 'v');
        FcgiConnection skipping = FcgiConnection::connect_unix(demo.socket_path());
        skipping.send_raw(fcgi_begin_request(1, false) + fcgi_record(kFcgiParams, 2, "") +
                          fcgi_record(kFcgiParams, 1, value_start) + fcgi_record(kFcgiParams, 1, value_end) +
                          fcgi_record(kFcgiParams, 1, "") + fcgi_stream(kFcgiStdin, 1, ""));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), fcgi_outcome(skipping, kBound).body());

        CPPUNIT_ASSERT(!demo.process().exited());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), occurrences(demo.log(), kOverLimit));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), occurrences(demo.log(), "FCGI_GET_VALUES record whose name-value pairs claim"));
    }

    void very_many_params_are_served_and_their_memory_is_reused() {
        DemoProcess demo({"--threads", "1"});
        const pid_t pid = demo.process().pid();
        FcgiParams extra;
        for (int i = 0; i < 50000; ++i) extra.emplace_back("HTTP_X_" + std::to_string(i), "v");
        const FcgiParams params = cgi_params("GET", "/", 0, extra);
        std::vector<long> rss;
        for (int round = 0; round < 4; ++round) {
            FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
            FcgiResponse r = c.request(params);
            CPPUNIT_ASSERT_EQUAL(200, r.status);
            rss.push_back(proc_rss_kib(pid));
        }
        std::cout << " [50000 params (" << fcgi_encode_params(params).size() / 1024 << " KiB): VmRSS " << rss.front() / 1024
                  << " MiB after the first, " << rss.back() / 1024 << " MiB after the fourth] " << std::flush;
        // The first request leaves the heap grown; later ones reuse it rather than add to it.
        if (kResidentMemoryIsMeaningful) CPPUNIT_ASSERT(rss.back() - rss.front() < 16 * 1024);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
    }

    void params_up_to_the_limit_are_served_and_beyond_it_refused() {
        DemoProcess demo({"--threads", "1"});
        const FcgiParams base = cgi_params("GET", "/");
        auto params_with = [&](std::size_t value) {
            FcgiParams params = base;
            params.emplace_back(std::string(300000, 'N'), "long name");
            params.emplace_back("HTTP_X_BIG", std::string(value, 'b'));
            return params;
        };
        // Past 127 bytes the value's length takes 4 bytes whatever it is: the size is linear.
        const std::size_t value_to_fill = 1000 + (kParamsLimit - fcgi_encode_params(params_with(1000)).size());
        CPPUNIT_ASSERT_EQUAL(kParamsLimit - 1, fcgi_encode_params(params_with(value_to_fill - 1)).size());
        FcgiConnection c = FcgiConnection::connect_unix(demo.socket_path());
        FcgiResponse r = c.request(params_with(value_to_fill - 1));
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), r.body);

        FcgiConnection over = FcgiConnection::connect_unix(demo.socket_path());
        try {
            over.send_raw(fcgi_begin_request(1, false) +
                          fcgi_stream(kFcgiParams, 1, fcgi_encode_params(params_with(value_to_fill + 1))) +
                          fcgi_stream(kFcgiStdin, 1, ""));
        } catch (const FcgiError&) {
            // closed before all of it was sent: the refusal came first
        }
        FcgiOutcome o = fcgi_outcome(over, kBound);
        CPPUNIT_ASSERT(o.closed);
        CPPUNIT_ASSERT(!o.ended());
        CPPUNIT_ASSERT(demo.process().wait_for_log(kOverLimit, kBound));
        CPPUNIT_ASSERT_EQUAL(std::string("hello\n"), demo.get("/").body);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(AbuseParamsTest, "integration");
