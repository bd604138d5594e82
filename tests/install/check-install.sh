#!/bin/sh
# Installs fcgihost into a scratch DESTDIR and builds, against that installation only, the
# CppUnit test that README.md shows under "Testing your handlers", then runs it. Used by
# InstallTest; usage: check-install.sh BUILD_DIR SCRATCH_DIR [extra compiler flags...]
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$1"
scratch="$2"
shift 2

make -s -C "$repo" install BUILD="$build" DESTDIR="$scratch/root" PREFIX=/usr

# The snippet: the ```cpp block after the line "<!-- compiled by tests/install -->".
awk '/<!-- compiled by tests\/install -->/ { armed = 1; next }
     armed && /^```cpp/ { inside = 1; next }
     inside && /^```/ { exit }
     inside { print }' "$repo/README.md" > "$scratch/greeting_test.cpp"
[ -s "$scratch/greeting_test.cpp" ] || { echo "no snippet found in README.md" >&2; exit 1; }

export PKG_CONFIG_SYSROOT_DIR="$scratch/root"
export PKG_CONFIG_PATH="$scratch/root/usr/lib/pkgconfig"
flags="$(pkg-config --cflags --libs fcgihost)"
case "$flags" in *"$scratch/root/usr/include"*) ;; *) echo "pkg-config did not point at the installation: $flags" >&2; exit 1 ;; esac

# No -I or -L of the source tree: only the installation can satisfy these.
g++ -std=c++17 -Wall -Wextra -Werror "$@" "$scratch/greeting_test.cpp" $flags -lcppunit -o "$scratch/greeting_test"
"$scratch/greeting_test"
