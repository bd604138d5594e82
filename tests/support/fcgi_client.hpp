// A small FastCGI 1.0 client: the web-server side of the protocol, for tests that drive a real
// responder process. It offers one high-level call (FcgiConnection::request) and the record
// builders underneath it, so bad-input tests can assemble broken streams byte by byte.
// Not thread-safe: a connection belongs to one thread at a time.
//
// Constants are named kFcgi* rather than FCGI_* because <fastcgi.h> defines the latter as macros.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fcgihost { namespace testing_support {

using FcgiParams = std::vector<std::pair<std::string, std::string>>;

constexpr std::uint8_t kFcgiVersion1 = 1;
constexpr std::size_t kFcgiHeaderLength = 8;
constexpr std::size_t kFcgiMaxContent = 65535;

// Record types.
constexpr std::uint8_t kFcgiBeginRequest = 1;
constexpr std::uint8_t kFcgiAbortRequest = 2;
constexpr std::uint8_t kFcgiEndRequest = 3;
constexpr std::uint8_t kFcgiParams = 4;
constexpr std::uint8_t kFcgiStdin = 5;
constexpr std::uint8_t kFcgiStdout = 6;
constexpr std::uint8_t kFcgiStderr = 7;
constexpr std::uint8_t kFcgiData = 8;
constexpr std::uint8_t kFcgiGetValues = 9;
constexpr std::uint8_t kFcgiGetValuesResult = 10;
constexpr std::uint8_t kFcgiUnknownType = 11;

// FCGI_BEGIN_REQUEST flags and roles, FCGI_END_REQUEST protocol status.
constexpr std::uint8_t kFcgiKeepConn = 1;
constexpr std::uint16_t kFcgiResponder = 1;
constexpr std::uint16_t kFcgiAuthorizer = 2;
constexpr std::uint16_t kFcgiFilter = 3;
constexpr std::uint8_t kFcgiRequestComplete = 0;
constexpr std::uint8_t kFcgiCantMpxConn = 1;
constexpr std::uint8_t kFcgiOverloaded = 2;
constexpr std::uint8_t kFcgiUnknownRole = 3;

struct FcgiResponse {
    int status = 0;          // from "Status:", 200 if absent, 0 if present but not a number
    FcgiParams headers;      // CGI response headers in order; a line without ':' is kept with an empty value
    std::string body;        // stdout after the first blank line ("" if there is no blank line)
    std::string stdout_text; // all FCGI_STDOUT content, unparsed, for tests of malformed output
    std::string stderr_text; // all FCGI_STDERR content
    std::uint32_t app_status = 0;
    std::uint8_t protocol_status = 0;

    std::string header(const std::string& name) const;  // first match, case-insensitive, "" if absent
};

// Thrown on connect failure, I/O failure, timeout, a connection closed before FCGI_END_REQUEST,
// or a reply the client cannot frame (wrong version, short FCGI_END_REQUEST).
struct FcgiError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One record as received; padding is already dropped.
struct FcgiRecord {
    std::uint8_t version = 0;
    std::uint8_t type = 0;
    std::uint16_t request_id = 0;
    std::string content;
};

class FcgiConnection {
public:
    FcgiConnection(const FcgiConnection&) = delete;
    FcgiConnection& operator=(const FcgiConnection&) = delete;
    FcgiConnection(FcgiConnection&& other) noexcept;
    FcgiConnection& operator=(FcgiConnection&& other) noexcept;
    ~FcgiConnection();

    // Both throw FcgiError; the connect itself is bounded by the default 10 s timeout.
    static FcgiConnection connect_unix(const std::string& path);
    static FcgiConnection connect_tcp(const std::string& host, int port);  // numeric IPv4/IPv6, "[::1]" ok

    // Bounds each later wait for progress (not a whole request); 10 s until set. Also sets
    // SO_RCVTIMEO/SO_SNDTIMEO.
    void set_timeout(std::chrono::milliseconds t);

    // Sends fcgi_request_bytes(...) and reads records until FCGI_END_REQUEST for request_id, skipping
    // records of other ids. Sending and receiving are interleaved, so a responder that answers (and
    // perhaps closes) before reading all of stdin still yields its response; a send error after the
    // peer closed is only reported if FCGI_END_REQUEST never arrives. If FCGI_END_REQUEST comes
    // before all of stdin went out, the rest is still sent when keep_conn is set (so the next request
    // starts on a record boundary) and dropped otherwise. Bytes after FCGI_END_REQUEST stay buffered
    // for later read_* calls. With keep_conn false the responder is expected to close; this
    // connection stays open until close() or destruction.
    FcgiResponse request(const FcgiParams& params, const std::string& body = "", bool keep_conn = false,
                         std::uint16_t request_id = 1);

    void send_raw(const std::string& bytes);  // all bytes or FcgiError; never raises SIGPIPE
    // Buffered bytes if any, else what arrives within `wait`; "" on EOF, reset or timeout.
    std::string read_some(std::chrono::milliseconds wait);
    // One whole record within `wait`; nullopt on EOF or timeout (a partial record stays buffered).
    std::optional<FcgiRecord> read_record(std::chrono::milliseconds wait);
    // True if EOF or ECONNRESET is seen within `wait`. Data arriving meanwhile is discarded.
    bool peer_closed(std::chrono::milliseconds wait);

    int fd() const;  // -1 once closed
    void close();    // idempotent

private:
    explicit FcgiConnection(int fd);
    void require_open() const;
    void send_all(const char* data, std::size_t size);
    // Appends whatever one recv() yields to pending_; returns false on EOF/reset, true otherwise
    // (including "nothing yet").
    bool receive_once();

    int fd_ = -1;
    std::chrono::milliseconds timeout_{10000};
    std::string pending_;  // received, not yet consumed
};

// Header + content + zero padding to a multiple of 8. Throws std::length_error above 65535 bytes.
std::string fcgi_record(std::uint8_t type, std::uint16_t request_id, const std::string& content,
                        std::uint8_t version = kFcgiVersion1);
std::string fcgi_begin_request(std::uint16_t request_id, bool keep_conn, std::uint16_t role = kFcgiResponder);
// Name-value pair body: lengths < 128 in 1 byte, otherwise 4 bytes with the top bit set.
std::string fcgi_encode_params(const FcgiParams& params);
// Inverse of fcgi_encode_params; throws FcgiError on truncated input.
FcgiParams fcgi_decode_params(const std::string& encoded);
// `content` split into records of at most 65535 bytes, then the empty record that ends the stream.
std::string fcgi_stream(std::uint8_t type, std::uint16_t request_id, const std::string& content);
// Exactly what request() sends: BEGIN_REQUEST, PARAMS stream, STDIN stream.
std::string fcgi_request_bytes(const FcgiParams& params, const std::string& body, bool keep_conn,
                               std::uint16_t request_id);

// The params a web server would send for METHOD URI (URI may carry ?query): REQUEST_METHOD,
// REQUEST_URI, SCRIPT_NAME and DOCUMENT_URI (path part), QUERY_STRING, SERVER_PROTOCOL, GATEWAY_INTERFACE,
// REMOTE_ADDR, REMOTE_PORT, SERVER_NAME, SERVER_PORT, CONTENT_LENGTH (when body_length > 0 or the
// method is POST/PUT), then `extra` in order.
FcgiParams cgi_params(const std::string& method, const std::string& uri, std::size_t body_length = 0,
                      const FcgiParams& extra = {});

// One connection, one request, closed again.
FcgiResponse fcgi_get(const std::string& socket_path, const std::string& uri);
FcgiResponse fcgi_post(const std::string& socket_path, const std::string& uri, const std::string& body);

}}  // namespace fcgihost::testing_support
