// Fuzz target: request bodies against CONTENT_LENGTH, through a real Server. The input
// chooses how the body is announced (exact, absent, off by some bytes, or any text), how it
// is split into FCGI_STDIN records, whether the stream is ended properly, and the body.
// The oracle is docs/contract.md#requests and docs/contract.md#bad-input:
//   ended, length right or absent, body <= --max-body   -> 200 and the body echoed whole
//   a length or a body over --max-body                    -> 413
//   ended, length disagrees with the body                 -> 400
//   not ended (the web server closed mid-body)            -> never 200: 400, 413 or a close
//   any text as the length                                -> 200 only if it is the length
// Input layout: [mode][delta][chunk][length text size][length text...][body...]
#include "fuzz/in_process_server.hpp"
#include "support/fcgi_client.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace fcgihost::testing_support;

namespace {

enum class Length { exact, absent, off_by_delta, text };

[[noreturn]] void finding(const char* what, int status, const std::string& length, std::size_t body_size) {
    std::fprintf(stderr, "fuzz_body: %s: status %d for CONTENT_LENGTH '%s' and a body of %zu bytes\n", what, status,
                 length.c_str(), body_size);
    abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    const Length mode = static_cast<Length>(data[0] & 3);
    const bool ended = (data[0] & 4) == 0;
    const bool keep = (data[0] & 8) != 0;
    const int delta = static_cast<std::int8_t>(data[1]);
    const std::size_t chunk = 1 + data[2] * 64u;
    std::size_t at = 4;
    std::string length_text;
    if (mode == Length::text) {
        const std::size_t n = std::min<std::size_t>(data[3], size - at);
        length_text.assign(reinterpret_cast<const char*>(data + at), n);
        at += n;
        // libfcgi hands params over as C strings: the server sees the text up to a NUL.
        length_text = length_text.substr(0, length_text.find('\0'));
    }
    const std::string body(reinterpret_cast<const char*>(data + at), size - at);
    long long announced = static_cast<long long>(body.size());
    if (mode == Length::off_by_delta) announced += delta;
    if (mode == Length::exact || (mode == Length::off_by_delta && announced >= 0)) length_text = std::to_string(announced);
    if (mode == Length::off_by_delta && announced < 0) return 0;

    FcgiParams params = {{"REQUEST_METHOD", "POST"}, {"REQUEST_URI", "/echo"}};
    if (mode != Length::absent) params.emplace_back("CONTENT_LENGTH", length_text);
    std::string bytes = fcgi_begin_request(1, keep) + fcgi_stream(kFcgiParams, 1, fcgi_encode_params(params));
    for (std::size_t pos = 0; pos < body.size(); pos += chunk) bytes += fcgi_record(kFcgiStdin, 1, body.substr(pos, chunk));
    if (ended) bytes += fcgi_record(kFcgiStdin, 1, "");

    const auto answer = fcgihost::fuzzing::parse_answer(fcgihost::fuzzing::fuzz_exchange(bytes), 1);
    const int status = answer.status;
    if (!answer.well_formed) finding("answer not well-formed", status, length_text, body.size());
    const std::size_t max = fcgihost::fuzzing::kFuzzMaxBody;

    if (mode == Length::text) {
        // Digits only and at most 18 of them, as the server reads it; "" is no length at all.
        const bool digits = !length_text.empty() && length_text.size() <= 18 &&
                            length_text.find_first_not_of("0123456789") == std::string::npos;
        const bool describes = length_text.empty() || (digits && std::stoull(length_text) == body.size());
        if (status == 200 && (!describes || !ended || body.size() > max || answer.body != body)) {
            finding("accepted a body its CONTENT_LENGTH does not describe", status, length_text, body.size());
        }
        return 0;
    }
    if (!ended) {
        if (status == 200) finding("accepted a body cut short", status, length_text, body.size());
        return 0;
    }
    const std::size_t claimed = mode == Length::absent ? body.size() : static_cast<std::size_t>(announced);
    const int expected = claimed > max ? 413 : claimed == body.size() ? 200 : 400;
    if (status != expected) finding("unexpected status", status, length_text, body.size());
    if (status == 200 && answer.body != body) finding("echoed body differs", status, length_text, body.size());
    return 0;
}
