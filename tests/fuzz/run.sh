#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time: `run.sh BUILD_DIR SECONDS TARGET...`.
# Seeds come from tests/fuzz/corpus/<target>/ (read only); what the fuzzer learns goes to
# BUILD_DIR/corpus/<target>/ and is reused by the next run; a crashing input is written to
# BUILD_DIR/crashes/ and fails the run. Ends with one line per target: time and executions.
#
# One crash is known and not fixed (tests/fuzz/known-crashes/README): libfcgi aborts when a
# name-value length claims 2 GiB or more. When a run ends on that one, its input goes to
# BUILD_DIR/known/ and the target fuzzes on for the rest of its time.
set -uo pipefail
build=$1
seconds=$2
shift 2
cd "$(dirname "$0")/../.."
mkdir -p "$build/crashes" "$build/known"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0}

# libfcgi asked malloc for a claimed length: too big for the allocator, or for the limit.
known_libfcgi_abort() {
    grep -Eq 'allocation-size-too-big|out-of-memory \(malloc\(' "$1" && grep -q 'libfcgi.so' "$1"
}

failed=0
summary=""
for target in "$@"; do
    mkdir -p "$build/corpus/$target"
    log="$build/$target.log"
    echo "== $target: ${seconds}s"
    executions=0
    known=0
    status=0
    end=$((SECONDS + seconds))
    while [ $((end - SECONDS)) -gt 0 ]; do
        "$build/$target" -max_total_time=$((end - SECONDS)) -max_len=8192 -timeout=20 -print_final_stats=1 \
            -artifact_prefix="$build/crashes/$target-" "$build/corpus/$target" "tests/fuzz/corpus/$target" >"$log" 2>&1
        status=$?
        executions=$((executions + $(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 | grep . || echo 0)))
        [ $status -eq 0 ] && break
        known_libfcgi_abort "$log" || break
        grep -q INITED "$log" || break  # it crashed while loading the corpus: it would again
        known=$((known + 1))
        mv "$build/crashes/$target-"* "$build/known/" 2>/dev/null
        status=0
    done
    note=""
    [ $known -gt 0 ] && note=", the known libfcgi abort $known time(s) (inputs in $build/known/)"
    if [ $status -ne 0 ]; then
        failed=1
        tail -40 "$log"
        summary+="$target: FAILED after $executions executions (see $log and $build/crashes/)"$'\n'
    else
        summary+="$target: ${seconds}s, $executions executions, corpus $(ls "$build/corpus/$target" | wc -l) inputs$note"$'\n'
    fi
done
printf '%s' "$summary"
exit $failed
