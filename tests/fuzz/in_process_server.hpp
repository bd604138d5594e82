// In-process server for fuzzing: a real fcgihost Server (libfcgi and all) in the fuzzer's own process, on a
// unix socket in a temp dir, for targets that feed bytes through a FastCGI connection.
//
// One request thread, so that a connection is served start to finish before the next one
// and each input's coverage is its own. Log lines go to /dev/null (malformed input is the
// normal case here, and a line per input would drown the fuzzer's output).
//
// The handler: POST /echo answers the body; GET /throw throws; anything else is routed by
// a Router with GET / only. --max-body is 4096, --io-timeout 2 s.
#pragma once

#include <string>

namespace fcgihost { namespace fuzzing {

constexpr std::size_t kFuzzMaxBody = 4096;

// Sends `bytes` on a fresh connection and returns all the server wrote back.
// With `half_close`, the sending side is then shut down and the server must close the
// connection within 4 s. Without it, the connection stays open until the server has
// answered `get_values_owed` FCGI_GET_VALUES records (or closed it), within 4 s: a server
// that waits for more input before it answers what it has is wedged too. Either failure
// aborts the process, which libFuzzer reports as a crash.
std::string fuzz_exchange(const std::string& bytes, bool half_close = true, std::size_t get_values_owed = 0);

// What the server wrote back, read as FastCGI.
struct FuzzAnswer {
    bool well_formed = true;  // whole version-1 records of the types a responder sends, nothing else
    bool ended = false;       // FCGI_END_REQUEST arrived for the request id asked about
    int status = 0;           // that request's "Status:" (200 without one); 0 if it sent no stdout
    std::string body;         // its stdout after the header block
};
FuzzAnswer parse_answer(const std::string& bytes, unsigned request_id);

}}  // namespace fcgihost::fuzzing
