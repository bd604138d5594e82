#!/bin/sh
# Installs fcgihost into a scratch DESTDIR and, against that installation only:
#  - builds with pkg-config the CppUnit test that README.md shows under "Testing your
#    handlers", and runs it;
#  - checks that libfcgi's reads reach fcgihost's OS_Read in a program linked statically
#    (fcgihost.pc) and in one linked against the shared library (fcgihost-shared.pc);
#  - makes the same OS_Read check in programs built with CMake's find_package(fcgihost);
#  - runs `make uninstall` and checks that it left no file behind.
# Used by InstallTest; usage: check-install.sh BUILD_DIR SCRATCH_DIR [extra compiler flags...]
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$1"
scratch="$2"
shift 2
root="$scratch/root"

make -s -C "$repo" install BUILD="$build" DESTDIR="$root" PREFIX=/usr

# The snippet: the ```cpp block after the line "<!-- compiled by tests/install -->".
awk '/<!-- compiled by tests\/install -->/ { armed = 1; next }
     armed && /^```cpp/ { inside = 1; next }
     inside && /^```/ { exit }
     inside { print }' "$repo/README.md" > "$scratch/greeting_test.cpp"
[ -s "$scratch/greeting_test.cpp" ] || { echo "no snippet found in README.md" >&2; exit 1; }

export PKG_CONFIG_SYSROOT_DIR="$root"
export PKG_CONFIG_PATH="$root/usr/lib/pkgconfig"
flags="$(pkg-config --cflags --libs fcgihost)"
case "$flags" in *"$root/usr/include"*) ;; *) echo "pkg-config did not point at the installation: $flags" >&2; exit 1 ;; esac
shared_flags="$(pkg-config --cflags --libs fcgihost-shared)"

# No -I or -L of the source tree: only the installation can satisfy these.
g++ -std=c++17 -Wall -Wextra -Werror "$@" "$scratch/greeting_test.cpp" $flags -lcppunit -o "$scratch/greeting_test"
"$scratch/greeting_test"

g++ -std=c++17 -Wall -Wextra -Werror "$@" "$here/os_read_probe.cpp" $flags -o "$scratch/probe_static"
"$scratch/probe_static" static
g++ -std=c++17 -Wall -Wextra -Werror "$@" "$here/os_read_probe.cpp" $shared_flags -o "$scratch/probe_shared"
LD_LIBRARY_PATH="$root/usr/lib" "$scratch/probe_shared" shared

mkdir -p "$scratch/cmake"
cp "$here/os_read_probe.cpp" "$scratch/cmake/"
cat > "$scratch/cmake/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.13)
project(fcgihost_user CXX)
find_package(fcgihost 0.1 REQUIRED)
add_executable(probe_static os_read_probe.cpp)
target_link_libraries(probe_static PRIVATE fcgihost::fcgihost)
add_executable(probe_shared os_read_probe.cpp)
target_link_libraries(probe_shared PRIVATE fcgihost::fcgihost_shared)
CMAKE
cmake -S "$scratch/cmake" -B "$scratch/cmake/build" -DCMAKE_PREFIX_PATH="$root/usr" \
    -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror $*" >"$scratch/cmake.log" 2>&1 || { cat "$scratch/cmake.log" >&2; exit 1; }
cmake --build "$scratch/cmake/build" >>"$scratch/cmake.log" 2>&1 || { cat "$scratch/cmake.log" >&2; exit 1; }
"$scratch/cmake/build/probe_static" static
# No LD_LIBRARY_PATH: CMake's build tree finds the shared library through its RPATH.
"$scratch/cmake/build/probe_shared" shared

make -s -C "$repo" uninstall BUILD="$build" DESTDIR="$root" PREFIX=/usr
left="$(find "$root" ! -type d)"
[ -z "$left" ] || { echo "make uninstall left: $left" >&2; exit 1; }
echo "install check passed"
