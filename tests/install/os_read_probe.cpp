// Built by check-install.sh against an installed fcgihost. libfcgi reads every connection
// through OS_Read, called through its PLT, so the definition that comes first in the
// program's symbol search order is the one it gets. fcgihost's must win (see
// src/fastcgi/fcgi_input.hpp): that is, OS_Read must resolve into the executable when fcgihost is
// linked statically (argument "static") and into libfcgihost.so when shared ("shared").
#include <fcgihost/host.hpp>

#include <dlfcn.h>

#include <cstring>
#include <iostream>
#include <string>

namespace {
void in_the_program() {}
}  // namespace

int main(int argc, char** argv) {
    // Taking run_main's address links the server, and so fcgihost's OS_Read, into a static build.
    volatile auto keep = &fcgihost::run_main;
    (void)keep;
    const std::string expected = argc > 1 ? argv[1] : "";
    Dl_info found{};
    Dl_info program{};
    void* os_read = dlsym(RTLD_DEFAULT, "OS_Read");
    if (os_read == nullptr) {
        const char* why = dlerror();
        std::cerr << "OS_Read not found: " << (why != nullptr ? why : "no error") << std::endl;
        return 1;
    }
    if (dladdr(os_read, &found) == 0 || dladdr(reinterpret_cast<void*>(&in_the_program), &program) == 0) {
        std::cerr << "dladdr found no object" << std::endl;
        return 1;
    }
    std::cout << "OS_Read resolves into " << found.dli_fname << std::endl;
    const char* base = std::strrchr(found.dli_fname, '/');
    base = base != nullptr ? base + 1 : found.dli_fname;
    const bool ok = expected == "static"   ? std::strcmp(found.dli_fname, program.dli_fname) == 0
                    : expected == "shared" ? std::strncmp(base, "libfcgihost.so", 14) == 0
                                           : false;
    if (!ok) std::cerr << "expected fcgihost's OS_Read (" << expected << " link)" << std::endl;
    return ok ? 0 : 1;
}
