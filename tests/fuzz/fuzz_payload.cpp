// Fuzz target: decode_fields() on any bytes (durable job payloads). Findings: a crash, a
// sanitizer report, an exception other than PayloadError, or a broken property:
//   - what decodes re-encodes and decodes back to the same fields;
//   - any fields encode to text that decodes back to them (the input split as fields).
#include "fcgihost/payload.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void finding(const char* what, const std::string& input) {
    std::fprintf(stderr, "fuzz_payload: %s (input of %zu bytes)\n", what, input.size());
    abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    try {
        fcgihost::PayloadFields fields = fcgihost::decode_fields(input);
        if (fcgihost::decode_fields(fcgihost::encode_fields(fields)) != fields) finding("re-encode differs", input);
    } catch (const fcgihost::PayloadError&) {
    } catch (...) {
        finding("exception other than PayloadError", input);
    }
    // The input as raw bytes in a key and a value must survive the round trip.
    const std::size_t half = size / 2;
    fcgihost::PayloadFields raw{{"k" + input.substr(0, half), input.substr(half)}};
    try {
        if (fcgihost::decode_fields(fcgihost::encode_fields(raw)) != raw) finding("raw round trip differs", input);
    } catch (...) {
        finding("raw round trip threw", input);
    }
    return 0;
}
