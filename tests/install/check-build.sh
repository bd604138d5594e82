#!/bin/sh
# Checks the Makefile's conventions with dry runs (`make -n`, nothing is built) into a
# scratch build directory, and the package check with a stand-in dpkg-query:
#  - CXXFLAGS, CPPFLAGS and LDFLAGS from the environment reach every compile and link, and
#    the project's own flags (-std=c++17 -pthread -MMD -MP) stay whatever they say;
#  - libfcgi's flags come from pkg-config;
#  - a plain `make` has no -Werror and needs neither CppUnit nor the test tree, while
#    `make check` builds with -Werror and `make check-unit` runs the unit tests alone;
#  - a plain `make` with packages missing says so in one line, as a user, and compiles nothing;
#  - the test runner fails on a suite registered as neither "unit" nor "integration".
# Used by InstallTest; usage: check-build.sh SCRATCH_DIR
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
scratch="$1"
fail() { echo "check-build: $*" >&2; exit 1; }
# Run from `make check`, the variables given to that make would reach these ones too.
unset MAKEFLAGS MFLAGS MAKELEVEL

# Every compile or link line of a dry run, one per line.
compiles() { grep -E '^(g\+\+|c\+\+|\S*clang\+\+\S*) ' | grep -e ' -c ' || true; }
links() { grep -E '^(g\+\+|c\+\+|\S*clang\+\+\S*) ' | grep -v -e ' -c ' || true; }

mkdir -p "$scratch/bin"
cat > "$scratch/bin/pkg-config" <<'FAKE'
#!/bin/sh
case "$*" in
    *--cflags*) echo "-I/from/pkg-config" ;;
    *--libs*) echo "-L/from/pkg-config -lfcgi" ;;
esac
FAKE
chmod +x "$scratch/bin/pkg-config"

plain="$(cd "$repo" && CXXFLAGS=-O1 CPPFLAGS=-DFROM_CPPFLAGS LDFLAGS=-Wl,-O1 \
    make -n all BUILD="$scratch/build" PKG_CONFIG="$scratch/bin/pkg-config" ENSURE_PACKAGES=:)"
[ -n "$(echo "$plain" | compiles)" ] || fail "plain make compiles nothing: $plain"
echo "$plain" | compiles | while read -r line; do
    for flag in -O1 -DFROM_CPPFLAGS -std=c++17 -pthread -MMD -I/from/pkg-config; do
        case " $line " in *" $flag "*) ;; *) fail "no $flag in: $line" ;; esac
    done
done
echo "$plain" | links | while read -r line; do
    for flag in -O1 -Wl,-O1 -pthread -L/from/pkg-config; do
        case " $line " in *" $flag "*) ;; *) fail "no $flag in: $line" ;; esac
    done
done
case "$plain" in *-Werror*) fail "plain make builds with -Werror" ;; esac
case "$plain" in *cppunit* | *" tests/"*) fail "plain make needs CppUnit or the test tree" ;; esac

check="$(cd "$repo" && make -n check BUILD="$scratch/build" ENSURE_PACKAGES=:)"
[ -n "$(echo "$check" | compiles)" ] || fail "make check compiles nothing: $check"
echo "$check" | compiles | while read -r line; do
    case " $line " in *" -Werror "*) ;; *) fail "make check without -Werror: $line" ;; esac
done
unit="$(cd "$repo" && make -n check-unit BUILD="$scratch/build" ENSURE_PACKAGES=:)"
echo "$unit" | grep -qx "$scratch/build/fcgihost-tests unit/" || fail "make check-unit does not run unit/ alone: $unit"

# As a user (id says 1000) with two packages missing.
cat > "$scratch/bin/id" <<'FAKE'
#!/bin/sh
echo 1000
FAKE
cat > "$scratch/bin/dpkg-query" <<'FAKE'
#!/bin/sh
for last; do :; done
case "$last" in libfcgi-dev | libboost-thread-dev) echo "unknown ok not-installed" ;; *) echo "install ok installed" ;; esac
FAKE
chmod +x "$scratch/bin/id" "$scratch/bin/dpkg-query"
if out="$(cd "$repo" && PATH="$scratch/bin:$PATH" make -s all BUILD="$scratch/build" 2>&1)"; then
    fail "make succeeded with packages missing: $out"
fi
first="$(echo "$out" | head -n 1)"
[ "$first" = "fcgihost: missing Debian packages; run: sudo apt-get install libfcgi-dev libboost-thread-dev" ] ||
    fail "not the one line naming the packages: $out"
[ ! -d "$scratch/build/obj" ] || fail "make compiled with packages missing: $out"

# A suite in the default registry would run in neither `make check-unit` nor a filtered run.
cat > "$scratch/unsorted_test.cpp" <<'CPP'
#include <cppunit/extensions/HelperMacros.h>
class UnsortedTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(UnsortedTest);
    CPPUNIT_TEST(passes);
    CPPUNIT_TEST_SUITE_END();
public:
    void passes() {}
};
CPPUNIT_TEST_SUITE_REGISTRATION(UnsortedTest);
CPP
g++ -std=c++17 -I"$repo/include" -I"$repo/src" -I"$repo/tests" "$repo/tests/main.cpp" "$repo/tests/support/sanitizer_reports.cpp" "$repo/tests/support/process.cpp" \
    "$scratch/unsorted_test.cpp" \
    -lcppunit -o "$scratch/runner"
if out="$("$scratch/runner")"; then fail "runner passed with an unsorted suite: $out"; fi
echo "$out" | grep -q '^FAIL UnsortedTest is registered as neither "unit" nor "integration"$' || fail "runner said: $out"
echo "$out" | grep -q '^tests: 0 passed, 1 failed$' || fail "runner said: $out"
echo "build check passed"
