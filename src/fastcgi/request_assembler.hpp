// What one connection has sent, assembled into one whole request before libfcgi sees any
// of it. Internal to the server: one per connection, used by one thread at a time.
//
// The assembler is the only FastCGI parser that reads the web server's bytes. It takes
// whole records (version 1, or the connection is refused) and
//  - answers management records (request id 0) itself: FCGI_GET_VALUES with the values
//    this server really has, any other type with FCGI_UNKNOWN_TYPE;
//  - opens a request at FCGI_BEGIN_REQUEST: role RESPONDER only (another role is answered
//    FCGI_END_REQUEST / FCGI_UNKNOWN_ROLE); a second BEGIN while one is open is answered
//    FCGI_CANT_MPX_CONN;
//  - collects its FCGI_PARAMS stream to the empty record, checking every name-value pair
//    (at most max_params bytes claimed in all, no pair cut short), then its FCGI_STDIN
//    stream to the empty record, keeping at most max_body + 1 bytes of it;
//  - answers FCGI_ABORT_REQUEST for the open request with FCGI_END_REQUEST
//    (FCGI_REQUEST_COMPLETE) and forgets that request;
//  - drops records of any other request id, and records of types a responder never reads.
// The request it hands on (records()) is BEGIN, PARAMS and STDIN records without padding,
// rebuilt from what was checked: libfcgi parses those and nothing else. Bytes after the
// end of a request stay pending for the next one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace fcgihost {

// The most params one request may carry: name and value bytes and their lengths. nginx
// sends all params in one record (at most 64 KiB); Apache's default limits stay under 1 MiB.
constexpr std::size_t kMaxParamsBytes = 1024 * 1024;

struct AssemblerLimits {
    std::size_t max_params = kMaxParamsBytes;
    std::size_t max_body = 1024 * 1024;
    unsigned max_conns = 1;  // FCGI_MAX_CONNS and FCGI_MAX_REQS in an FCGI_GET_VALUES_RESULT
};

class RequestAssembler {
public:
    RequestAssembler(const RequestAssembler&) = delete;
    RequestAssembler& operator=(const RequestAssembler&) = delete;

    explicit RequestAssembler(AssemblerLimits limits);

    enum class State {
        reading,   // more bytes are needed
        complete,  // records() holds a request to serve; call next() once it is served
        refused,   // the input broke the protocol (refusal() says how): close the connection
        finished,  // the web server expects nothing more: send answers(), then close
    };
    // What read_from() stopped at.
    enum class Input {
        stopped,      // the assembler wants no more input now (see state())
        would_block,  // the socket has nothing more for now
        yielded,      // read its share (1 MiB) for now; the socket may hold more
        end,          // the web server closed its side
        failed,       // recv failed (errno set)
    };

    // Appends bytes that came from the web server and assembles as far as they go.
    State feed(const char* data, std::size_t n);
    // Reads what socket `fd` holds, never blocking, while the assembler wants input: at
    // most 1 MiB a call, so that a peer that never stops sending cannot keep the caller.
    Input read_from(int fd);
    State state() const { return state_; }

    // Records owed to the web server, in order; the caller sends them and clears the string.
    // While they pile up past 64 KiB no more input is wanted.
    std::string& answers() { return answers_; }

    // The complete request: its records for libfcgi, and whether the body went over max_body
    // (then it holds max_body + 1 bytes of it, or none when CONTENT_LENGTH claimed more, and
    // the request is handed on before its body ends: the connection must be closed after it).
    const std::string& records() const { return records_; }
    bool body_too_large() const { return body_too_large_; }
    // After the complete request was served on a kept connection: forgets it and
    // assembles the next one from what is pending.
    State next();

    // True when nothing has come since the last request ended (nothing pending, none open).
    bool idle() const;
    // True while a request is open or a record is cut short: the web server closing now
    // loses something.
    bool mid_request() const { return request_id_ != 0 || begin_ < end_; }
    // True once, after a request ended without being served (an abort, a role refused).
    bool take_ended();
    // Why the input was refused; empty while it is not.
    const std::string& refusal() const { return refusal_; }
    // Where the current request stands, for a log line ("in its params", ...).
    std::string stage() const;
    // Gives back buffer memory; only while idle().
    void release_memory();

private:
    void assemble();
    char* room_for(std::size_t n);  // where n more bytes go in the pending buffer
    void take_record(unsigned char type, std::uint16_t id, const char* content, std::size_t length);
    void take_management(unsigned char type, const char* content, std::size_t length);
    void take_begin(std::uint16_t id, const char* content, std::size_t length);
    void take_params(const char* content, std::size_t length);
    void take_stdin(const char* content, std::size_t length);
    void end_params();
    void end_request_unserved(std::uint16_t id, unsigned char protocol_status, bool keep);
    bool scan_params(const unsigned char* p, std::size_t n);  // false when a pair claims too much
    void forget_request();
    void refuse(std::string why);

    const AssemblerLimits limits_;
    State state_ = State::reading;
    // Received, not yet assembled: [begin_, end_) of pending_ (uninitialised beyond end_,
    // so that a recv lands there without a copy or a fill).
    std::unique_ptr<char[]> pending_;
    std::size_t pending_size_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::string answers_;
    std::string records_;        // the request being assembled, for libfcgi
    std::string params_;         // its params content, until the params end
    std::string refusal_;

    std::uint16_t request_id_ = 0;  // the open request; 0 when none is
    bool keep_conn_ = false;
    bool params_open_ = false;
    bool body_too_large_ = false;
    bool begun_ = false;            // a record came since the last request ended
    bool ended_ = false;            // for take_ended()
    std::uint64_t body_kept_ = 0;

    // The name-value pair scan of the open request's params.
    int pair_stage_ = 0;            // which length byte comes next (PairStage in the .cpp)
    int length_bytes_left_ = 0;     // of a length in the 4-byte form
    int pair_prefix_ = 0;           // bytes of the pair's two lengths
    std::uint32_t name_len_ = 0;
    std::uint32_t value_len_ = 0;
    std::uint64_t pair_data_left_ = 0;
    std::uint64_t params_used_ = 0;
};

}  // namespace fcgihost
