// What /proc says about another process: resident memory, CPU time, open fds, threads.
// For tests that must show a process stays within a bound (memory that returns after a
// burst, no busy loop while it is starved of fds) without trusting the process's own
// account of itself. Linux only; every call reads /proc afresh.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace fcgihost { namespace testing_support {

// Whether resident memory says anything about the code under test. The demo a test runs
// is built like the test itself; under AddressSanitizer freed memory waits in quarantine
// (up to 256 MiB) and ThreadSanitizer adds shadow memory, so there VmRSS tracks the
// sanitizer, and tests print what they measure instead of asserting on it.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kResidentMemoryIsMeaningful = false;
#else
constexpr bool kResidentMemoryIsMeaningful = true;
#endif

// VmRSS, VmSize and VmPeak (the most VmSize has been) from /proc/<pid>/status, in KiB;
// -1 if the process is gone.
long proc_rss_kib(pid_t pid);
long proc_vm_size_kib(pid_t pid);
long proc_vm_peak_kib(pid_t pid);
// utime + stime from /proc/<pid>/stat, in clock ticks (sysconf(_SC_CLK_TCK) per second);
// -1 if the process is gone.
long proc_cpu_ticks(pid_t pid);
long proc_ticks_per_second();
// Entries of /proc/<pid>/fd; 0 if the process is gone.
std::size_t proc_open_fds(pid_t pid);

}}  // namespace fcgihost::testing_support
