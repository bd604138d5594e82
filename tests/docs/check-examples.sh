#!/bin/sh
# Compiles every ```cpp block of the Markdown documentation against include/, so that an
# example cannot drift from the headers: README.md, docs/*.md and bench/README.md. With a
# build directory, each README block that holds a main() is also linked against that
# build's library, so that a function an example calls but never defines fails here.
# A ```cpp20 block compiles as C++20 (the coroutine flavour of asynchronous jobs).
# The README must hold a complete handler program (one that calls run_main).
# Usage: check-examples.sh [BUILD_DIR]   (BUILD_DIR relative to the repository's root)
set -eu
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
build="${1:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT INT TERM
CXX="${CXX:-g++}"
flags="-std=c++17 -Wall -Wextra -Werror -pthread -Iinclude"
libs="-lfcgi -lsqlite3 -lpq -lboost_thread -lboost_chrono -lpthread"
failures=0
blocks=0

for md in README.md docs/*.md bench/README.md; do
    [ -f "$md" ] || continue
    stem="$work/$(echo "$md" | tr '/.' '__')"
    # Each block to $stem.N.cpp, N counting from 1; the first line of each file says
    # where the block begins, so a compiler error points at the Markdown.
    awk -v stem="$stem" -v md="$md" '
        /^```cpp(20)?[ \t]*$/ { n++; out = stem "." n (/20/ ? ".cxx20" : "") ".cpp"; printf "#line %d \"%s\"\n", NR + 1, md > out; next }
        out != "" && /^```/ { close(out); out = ""; next }
        out != "" { print > out }' "$md"
    for block in "$stem".*.cpp; do
        [ -f "$block" ] || continue
        blocks=$((blocks + 1))
        extra=""
        grep -q 'cppunit' "$block" && extra="-lcppunit"
        std=""
        case "$block" in *.cxx20.cpp) std="-std=c++20" ;; esac
        if [ "$md" = README.md ] && [ -n "$build" ] && grep -q 'int main(' "$block"; then
            # shellcheck disable=SC2086
            $CXX $flags $std "$block" "$build/libfcgihost.a" $libs $extra -o "${block%.cpp}" ||
                { echo "check-examples: a block of $md does not build (see above)" >&2; failures=$((failures + 1)); }
        else
            # shellcheck disable=SC2086
            $CXX $flags $std -fsyntax-only "$block" ||
                { echo "check-examples: a block of $md does not compile (see above)" >&2; failures=$((failures + 1)); }
        fi
    done
done

grep -l 'run_main' "$work"/README_md.*.cpp >/dev/null 2>&1 ||
    { echo "check-examples: README.md has no complete handler program (no run_main)" >&2; failures=$((failures + 1)); }
if [ -n "$build" ] && [ ! -f "$build/libfcgihost.a" ]; then
    echo "check-examples: $build/libfcgihost.a not found; build first" >&2
    failures=$((failures + 1))
fi

if [ "$failures" -gt 0 ]; then
    echo "check-examples: $failures of $blocks examples fail" >&2
    exit 1
fi
echo "check-examples: $blocks C++ examples compile"
