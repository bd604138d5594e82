// What libfcgi reads from a connection, checked first. Internal to the server.
//
// libfcgi 2.4.2 trusts the lengths it reads: a params name-value pair whose two lengths
// add up to 2 GiB or more makes its allocation fail, and its assert then aborts the whole
// process; smaller claims reserve that much address space before a byte of it is sent; an
// unknown management record's content is read as the request's params (or body), and
// each such record leaks 48 bytes. Every byte libfcgi reads goes through OS_Read()
// (fcgios.h), which fcgi_input.cpp defines: on a request thread serving a connection it
// reads through that thread's FcgiInput, which
//  - refuses params whose pairs claim more than kMaxParamsBytes in all (libfcgi then
//    sees a read error and closes the connection, before it allocates anything),
//  - refuses an FCGI_GET_VALUES record whose pairs claim more than the record holds,
//  - answers an unknown management record with FCGI_UNKNOWN_TYPE itself and drops it,
//  - drops records of a request that is not open (libfcgi would skip them, and then
//    skip the content of the next record as well, after an empty one),
//  - drops the padding that libfcgi would read as a record (after the record that begins
//    a request and the empty ones that end its params and its body),
//  - stops at the end of a request (the empty FCGI_STDIN record), so that bytes of a next
//    request already read stay here for it instead of dying in libfcgi's buffer,
//  - and otherwise hands libfcgi the bytes as they came.
// Anywhere else (a program's own libfcgi use) OS_Read is libfcgi's own.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fcgihost {

// The most params one request may carry: name and value bytes and their lengths. nginx
// sends all params in one record (at most 64 KiB); Apache's default limits stay under 1 MiB.
constexpr std::size_t kMaxParamsBytes = 1024 * 1024;

class FcgiInput {
public:
    FcgiInput(const FcgiInput&) = delete;
    FcgiInput& operator=(const FcgiInput&) = delete;

    explicit FcgiInput(std::size_t max_params = kMaxParamsBytes);

    // Starts reading connection `fd` at a record boundary, forgetting any other.
    void bind(int fd);
    int fd() const { return fd_; }

    // libfcgi's read: like read(2) on the connection, blocking for at least one byte, but
    // never past the end of the current request. -1 with errno EPROTO once the input is
    // refused (refusal() says why); read(2)'s own errors and end of file as they are.
    ssize_t read(char* out, std::size_t len);

    // True when bytes after the end of the request just read are already here: the next
    // request must be served from them, since epoll will not report them again.
    bool buffered() const { return end_request_ && begin_ < end_; }

    // Why the input was refused; empty while it is not.
    const std::string& refusal() const { return refusal_; }

    // While a Scope lives, libfcgi's reads of the bound fd on this thread go through
    // `input`.
    class Scope {
    public:
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;
        explicit Scope(FcgiInput& input);
        ~Scope();
    };

private:
    enum class Part { header, content, padding };
    enum class Handling { pass, params, drop };

    bool approve_more(bool may_block);
    bool have(std::size_t need, bool may_block);  // `need` bytes buffered, reading (if allowed) until they are
    bool fill(std::size_t need);  // false: the read failed; read() returns last_read_
    bool start_record(bool may_block);  // decides on the record whose header is at begin_
    void start_part(Handling handling, std::size_t content, std::size_t padding);
    bool approve_without_padding(std::size_t content, std::size_t padding, bool may_block);
    bool scan_params(const unsigned char* p, std::size_t n);  // false when a pair claims too much
    bool check_get_values(const unsigned char* p, std::size_t n);
    bool answer_unknown_type(unsigned char type);
    void refuse(std::string why);

    const std::size_t max_params_;
    int fd_ = -1;
    std::vector<char> buffer_;    // bytes read from fd_; [begin_, end_) not yet handed on
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::size_t approved_ = 0;    // bytes from begin_ on that libfcgi may have
    ssize_t last_read_ = 0;       // what the failed fill's read(2) returned (0 or -1)
    int last_errno_ = 0;

    Part part_ = Part::header;
    Handling handling_ = Handling::pass;
    std::size_t left_ = 0;        // bytes left in the current part of the record
    std::size_t padding_ = 0;     // padding of the current record
    std::uint16_t request_id_ = 0;  // the request being read; 0 between requests
    bool params_open_ = false;    // its FCGI_PARAMS stream has not ended yet
    bool end_request_ = false;    // its empty FCGI_STDIN record has been handed on

    // The name-value pair scan of the current request's params.
    int pair_stage_ = 0;          // which length byte comes next (PairStage in the .cpp)
    int length_bytes_left_ = 0;   // of a length in the 4-byte form
    int pair_prefix_ = 0;         // bytes of the pair's two lengths
    std::uint32_t name_len_ = 0;
    std::uint32_t value_len_ = 0;
    std::uint64_t pair_data_left_ = 0;
    std::uint64_t params_used_ = 0;

    std::string refusal_;
};

}  // namespace fcgihost
