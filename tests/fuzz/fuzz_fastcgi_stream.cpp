// Fuzz target: bytes as one FastCGI connection to a real Server (libfcgi behind it).
// Findings: a crash or sanitizer report anywhere in the process, a hang (the harness gives
// the server 4 s, libFuzzer's -timeout 5 s), or an answer that is not well-formed FastCGI.
//
// Input layout. An input that starts with 0x01 (FastCGI version 1) is the connection's
// bytes as they are, then the web server's side half-closes: the seeds, and the inputs of
// tests/fuzz/regressions/, are such connections. Otherwise the first byte is a mode:
//   bit 2  records: the rest is a sequence of chunks, each made a well-framed record, so
//          that mutations reach the record walk instead of breaking the framing;
//   bit 1  stay open: no half-close; the server must answer every FCGI_GET_VALUES it was
//          sent (or close the connection) while the connection stays open.
// A chunk is [type][id][length][flags] then `length | (flags & 3) << 8` content bytes
// (fewer if the input ends): type byte t < 0xe0 gives record type t % 11 + 1, else t
// itself (unknown types); id is 0..3; padding (flags >> 2) & 7; flags bit 5 makes the
// version 2. An FCGI_BEGIN_REQUEST chunk of length 0 gets a RESPONDER body, of length 1
// a body with that byte as its role; flags bit 7 sets FCGI_KEEP_CONN in both.
// Seeds: tests/fuzz/make_corpus.py; names and record shapes: tests/fuzz/fastcgi.dict.
#include "fuzz/in_process_server.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

constexpr unsigned char kBeginRequest = 1;
constexpr unsigned char kGetValues = 9;

struct Connection {
    std::string bytes;
    std::size_t get_values = 0;  // well-framed version-1 FCGI_GET_VALUES records in it
};

Connection records_from(const std::uint8_t* data, std::size_t size) {
    Connection out;
    std::size_t at = 0;
    while (size - at >= 4) {
        const std::uint8_t t = data[at];
        const unsigned char type = t < 0xe0 ? static_cast<unsigned char>(t % 11 + 1) : t;
        const unsigned id = data[at + 1] % 4;
        const std::uint8_t flags = data[at + 3];
        std::size_t length = data[at + 2] | std::size_t(flags & 3) << 8;
        at += 4;
        std::string content(reinterpret_cast<const char*>(data + at), std::min(length, size - at));
        at += content.size();
        if (type == kBeginRequest && content.size() <= 1) {
            const char role = content.empty() ? 1 : content[0];
            content = std::string("\0", 1) + role + static_cast<char>(flags >> 7) + std::string(5, '\0');
        }
        const unsigned char version = (flags & 0x20) ? 2 : 1;
        const unsigned char padding = (flags >> 2) & 7;
        const char header[8] = {static_cast<char>(version), static_cast<char>(type), 0, static_cast<char>(id),
                                static_cast<char>(content.size() >> 8), static_cast<char>(content.size() & 0xff),
                                static_cast<char>(padding), 0};
        out.bytes.append(header, sizeof header);
        out.bytes += content;
        out.bytes.append(padding, '\0');
        if (type == kGetValues && id == 0 && version == 1) ++out.get_values;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    bool half_close = true;
    Connection connection;
    if (data[0] == 1) {
        connection.bytes.assign(reinterpret_cast<const char*>(data), size);
    } else if (data[0] & 4) {
        connection = records_from(data + 1, size - 1);
        half_close = (data[0] & 2) == 0;
    } else {
        connection.bytes.assign(reinterpret_cast<const char*>(data + 1), size - 1);
        half_close = (data[0] & 2) == 0;
    }
    // A raw stream that stays open is not counted: the harness closes as soon as it is sent.
    std::string answer = fcgihost::fuzzing::fuzz_exchange(connection.bytes, half_close,
                                                          half_close ? 0 : connection.get_values);
    // An answer read while the connection stays open may end inside a record.
    if (half_close && !fcgihost::fuzzing::parse_answer(answer, 1).well_formed) {
        std::fprintf(stderr, "fuzz: the server's answer is not well-formed FastCGI (%zu bytes)\n", answer.size());
        abort();
    }
    return 0;
}
