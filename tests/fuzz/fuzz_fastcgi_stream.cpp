// Fuzz target: arbitrary bytes as one FastCGI connection to a real Server (libfcgi behind
// it), the web server's side then closing its sending half. Findings: a crash or sanitizer
// report anywhere in the process, a connection the server does not close within 5 s (a
// wedged request thread), or an answer that is not well-formed FastCGI.
// Seeds: whole requests (plain, kept, with body, several on one connection), management
// records, and the broken streams of tests/integration/abuse_*_test.cpp. Inputs that once
// crashed it are replayed by run.sh from tests/fuzz/regressions/.
#include "fuzz/in_process_server.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    std::string answer = fcgihost::fuzzing::fuzz_exchange(bytes);
    if (!fcgihost::fuzzing::parse_answer(answer, 1).well_formed) {
        std::fprintf(stderr, "fuzz: the server's answer is not well-formed FastCGI (%zu bytes)\n", answer.size());
        abort();
    }
    return 0;
}
