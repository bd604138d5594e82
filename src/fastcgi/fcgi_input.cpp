#include "fastcgi/fcgi_input.hpp"

#include <dlfcn.h>
#include <fcgios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace fcgihost {
namespace {

thread_local FcgiInput* current_input = nullptr;

using OsRead = int (*)(int, char*, size_t);

// libfcgi's own OS_Read, for reads that are not ours to serve.
OsRead libfcgi_os_read() {
    static const OsRead next = reinterpret_cast<OsRead>(dlsym(RTLD_NEXT, "OS_Read"));
    return next;
}

}  // namespace

FcgiInput::FcgiInput(int fd, const std::string& records) : fd_(fd), records_(records) { current_input = this; }

FcgiInput::~FcgiInput() { current_input = nullptr; }

ssize_t FcgiInput::read(char* out, std::size_t len) {
    const std::size_t n = std::min(len, records_.size() - at_);
    if (n == 0) return 0;  // `out` may be null then
    std::memcpy(out, records_.data() + at_, n);
    at_ += n;
    return static_cast<ssize_t>(n);
}

}  // namespace fcgihost

// libfcgi calls this for every read of a connection (see fcgi_input.hpp).
extern "C" int OS_Read(int fd, char* buf, size_t len) {
    fcgihost::FcgiInput* input = fcgihost::current_input;
    if (input != nullptr && fd == input->fd()) return static_cast<int>(input->read(buf, len));
    const fcgihost::OsRead next = fcgihost::libfcgi_os_read();
    return next != nullptr ? next(fd, buf, len) : static_cast<int>(::read(fd, buf, len));
}
