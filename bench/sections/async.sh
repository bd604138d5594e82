#!/usr/bin/env bash
# Asynchronous jobs against blocking ones (build/async_bench): memory and threads of 10,000
# pending waits, enqueue->start latency, no-op throughput. Prints a Markdown section.
# Usage: async.sh BUILD_DIR WORK_DIR ROUNDS SECONDS  (SECONDS is unused: every figure
# here is a fixed number of jobs, not a timed run)
set -euo pipefail
build="$(cd "$1" && pwd)"
work="$2"
rounds="$3"
workers=4    # as queue_bench, so the sync figures compare with its row
pending=10000
blocked=100  # threads, not 10,000: the point is shown at a size the machine shrugs off
raw="$work/async.txt"

# Each memory figure in a fresh process (see async_bench.cpp), every round.
{
    for _ in $(seq 1 "$rounds"); do
        "$build/async_bench" pending "$pending"
        "$build/async_bench" queued "$pending"
        "$build/async_bench" blocked "$blocked"
    done
    "$build/async_bench" timing "$workers" "$rounds"
} > "$raw"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { awk -v k="$1" '$1 == k { print $2 }' "$raw" | median; }
most() { awk -v k="$1" '$1 == k { print $2 }' "$raw" | sort -n | tail -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == "<=") ? v <= t : v >= t; print ok ? "PASS" : "MISS" }'; }

async_rss="$(med pending_async_rss_bytes_per_job)"
async_heap="$(med pending_async_heap_bytes_per_job)"
queued_rss="$(med queued_sync_rss_bytes_per_job)"
queued_heap="$(med queued_sync_heap_bytes_per_job)"
blocked_rss="$(med blocked_sync_rss_bytes_per_job)"
blocked_heap="$(med blocked_sync_heap_bytes_per_job)"
# Worst round: one extra thread in any round is a miss.
thread_growth="$(awk '$1 == "pending_async_threads_before" { b = $2 } $1 == "pending_async_threads_after" { d = $2 - b; if (d > m) m = d } END { print m + 0 }' "$raw")"
threads_before="$(most pending_async_threads_before)"
queued_threads="$(awk '$1 == "queued_sync_threads_before" { b = $2 } $1 == "queued_sync_threads_after" { print $2 - b }' "$raw" | median)"
blocked_threads="$(awk '$1 == "blocked_sync_threads_before" { b = $2 } $1 == "blocked_sync_threads_after" { print $2 - b }' "$raw" | median)"
a50="$(med async_start_p50_us)" a99="$(med async_start_p99_us)"
s50="$(med sync_start_p50_us)" s99="$(med sync_start_p99_us)"
arate="$(med async_noop_per_s)" srate="$(med sync_noop_per_s)"
mem_ratio="$(ratio "$async_rss" "$blocked_rss")"
p50_ratio="$(ratio "$a50" "$s50")"
rate_ratio="$(ratio "$arate" "$srate")"

cat <<MD
## Asynchronous jobs

Medians of ${rounds} rounds. Memory: growth of VmRSS and of malloc's bytes in use (one
arena) across enqueueing, per job, each kind in a fresh process. ${workers} workers,
\`--worker-nice 0\`.

| what | RSS per job | heap per job | threads added |
| --- | --- | --- | --- |
| ${pending} async jobs, each waiting on an Asio timer 1 h away | ${async_rss} B | ${async_heap} B | ${thread_growth} (of ${threads_before}) |
| ${pending} blocking jobs waiting in the queue, not started | ${queued_rss} B | ${queued_heap} B | ${queued_threads} |
| ${blocked} blocking jobs, each holding a worker in \`token.sleep_for\` | ${blocked_rss} B | ${blocked_heap} B | ${blocked_threads} |

A blocked worker also reserves its stack's address space and a kernel stack, which VmRSS
does not show.

| latency enqueue to start, one job at a time | p50 | p99 |
| --- | --- | --- |
| async (I/O thread) | ${a50} us | ${a99} us |
| blocking (worker) | ${s50} us | ${s99} us |

No-op jobs (200,000 per run, from enqueue of the first to the count of the last): async
${arate}/s, blocking ${srate}/s.

| target | measured | verdict |
| --- | --- | --- |
| ${pending} pending async waits hold no thread (threads after == before) | +${thread_growth} | $( [ "$thread_growth" -eq 0 ] && echo PASS || echo MISS ) |
| memory per pending async wait <= 0.25x a worker blocked in a wait (RSS) | ${mem_ratio}x | $(verdict "$mem_ratio" "<=" 0.25) |
| async enqueue-to-start p50 <= 2x a blocking job's | ${p50_ratio}x | $(verdict "$p50_ratio" "<=" 2) |
| async no-op throughput >= 0.5x blocking no-op (${workers} workers) | ${rate_ratio}x | $(verdict "$rate_ratio" ">=" 0.5) |
MD
