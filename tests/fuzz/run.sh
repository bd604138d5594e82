#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time: `run.sh BUILD_DIR SECONDS TARGET...`.
# Seeds come from tests/fuzz/corpus/<target>/ (read only); what the fuzzer learns goes to
# BUILD_DIR/corpus/<target>/ and is reused by the next run; a crashing input is written to
# BUILD_DIR/crashes/ and fails the run. Ends with one line per target: time and executions.
#
# Before fuzzing, fuzz_fastcgi_stream replays tests/fuzz/regressions/*.bin, the inputs that
# once crashed it; any of them failing again fails the run. That target also gets the
# dictionary tests/fuzz/fastcgi.dict and a 5 s -timeout: an input the server takes longer
# over is a hang (its harness gives the server 4 s, and says so first).
set -uo pipefail
build=$1
seconds=$2
shift 2
cd "$(dirname "$0")/../.."
mkdir -p "$build/crashes"
# No input here (at most 8 KiB) needs 64 MiB at once: a bigger allocation means a length
# claim got past src/fastcgi/request_assembler.cpp to libfcgi, and fails the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:max_allocation_size_mb=64}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0}

failed=0
summary=""
for target in "$@"; do
    mkdir -p "$build/corpus/$target"
    log="$build/$target.log"
    echo "== $target: ${seconds}s"
    status=0
    extra=(-timeout=20)
    if [ "$target" = fuzz_fastcgi_stream ]; then
        "$build/$target" tests/fuzz/regressions/*.bin >"$log" 2>&1
        status=$?
        extra=(-timeout=5 -dict=tests/fuzz/fastcgi.dict)
    fi
    if [ $status -eq 0 ]; then
        "$build/$target" -max_total_time="$seconds" -max_len=8192 "${extra[@]}" -print_final_stats=1 \
            -artifact_prefix="$build/crashes/$target-" "$build/corpus/$target" "tests/fuzz/corpus/$target" >"$log" 2>&1
        status=$?
    fi
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 | grep . || echo 0)
    if [ $status -ne 0 ]; then
        failed=1
        tail -40 "$log"
        summary+="$target: FAILED after $executions executions (see $log and $build/crashes/)"$'\n'
    else
        summary+="$target: ${seconds}s, $executions executions, corpus $(ls "$build/corpus/$target" | wc -l) inputs"$'\n'
    fi
done
printf '%s' "$summary"
exit $failed
