// Where libfcgi reads a request from. Internal to the server.
//
// DESIGN. libfcgi never reads a connection. Every byte libfcgi reads goes through
// OS_Read() (fcgios.h), which fcgi_input.cpp defines: while an FcgiInput lives on a thread,
// libfcgi's reads of its connection there are served from memory, from the records of one
// request that request_assembler.hpp has already read off the socket, checked and rebuilt
// (BEGIN as a RESPONDER, the PARAMS stream to its empty record, the STDIN stream to its
// empty record, none of them padded), and then end of file. So libfcgi only ever parses
// the well-formed records of the one open request, and what it makes of them cannot
// disagree with what was checked. Its writes still go to the socket.
// Anywhere else (a program's own libfcgi use) OS_Read is libfcgi's own.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace fcgihost {

class FcgiInput {
public:
    FcgiInput(const FcgiInput&) = delete;
    FcgiInput& operator=(const FcgiInput&) = delete;

    // While it lives, libfcgi's reads of `fd` on this thread return `records` (which must
    // outlive it), then 0. Only one may live on a thread at a time.
    FcgiInput(int fd, const std::string& records);
    ~FcgiInput();

    int fd() const { return fd_; }
    // OS_Read's answer: the next bytes of the records, at most `len`; 0 once all are read.
    ssize_t read(char* out, std::size_t len);

private:
    const int fd_;
    const std::string& records_;
    std::size_t at_ = 0;
};

}  // namespace fcgihost
