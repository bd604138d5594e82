#!/usr/bin/env bash
# Turns the raw runs into bench/RESULTS.md: medians per row, ratios to the baseline
# measured in the same run, the machine, and a verdict per target (bench/README.md#targets).
# Usage: report.sh RESULTS QUEUE SHUTDOWN ROUNDS SECONDS THREADS
set -euo pipefail
results="$1" queue="$2" shutdown="$3" rounds="$4" secs="$5" threads="$6"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# field: 3 rps, 4 p50, 5 p90, 6 p99, 7 p99.9, 8 non-2xx, 9 errors (latencies in us)
stat() { awk -F'|' -v n="$1" -v c="$2" -v f="$3" '$1 == n && $2 == c { print $f }' "$results" | median; }
sum() { awk -F'|' -v n="$1" -v c="$2" -v f="$3" '$1 == n && $2 == c { s += $f } END { print s + 0 }' "$results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == ">=") ? v >= t : v <= t; print ok ? "PASS" : "MISS" }'; }

cat <<HEAD
# Benchmark results

Written by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'); do not edit by hand.

Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr);
$(nginx -v 2>&1 | sed 's/^nginx version: //'), wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'), $(ls /usr/sbin/php-fpm* | head -n 1 | xargs basename),
libfcgi $(dpkg-query -W -f='${Version}' libfcgi0ldbl 2>/dev/null), g++ $(g++ -dumpfullversion).
Method: one nginx (1 worker) in front of every backend on loopback; wrk for ${secs} s per run,
1 connection (1 thread) and 32 connections (2 threads); ${rounds} rounds, rows interleaved
within each round; medians. Request threads: ${threads} for fcgihost and for the raw
libfcgi baseline; PHP-FPM: 4 static children. Ratios are to the raw libfcgi row with the
same keep_conn setting, measured in the same run.

| row | c | req/s | ratio | p50 ms | p99 ms | p99.9 ms | non-2xx | errors |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
HEAD

names="$(awk -F'|' '!seen[$1]++ { print $1 }' "$results")"
while IFS= read -r name; do
    for c in 1 32; do
        [ -n "$(awk -F'|' -v n="$name" -v c="$c" '$1 == n && $2 == c' "$results")" ] || continue
        keep="off"; case "$name" in *"keep_conn on"*) keep="on" ;; esac
        base="$(stat "raw libfcgi, keep_conn $keep" "$c" 3)"
        rps="$(stat "$name" "$c" 3)"
        echo "| $name | $c | ${rps%.*} | $(ratio "$rps" "$base") | $(ms "$(stat "$name" "$c" 4)") | $(ms "$(stat "$name" "$c" 6)") | $(ms "$(stat "$name" "$c" 7)") | $(sum "$name" "$c" 8) | $(sum "$name" "$c" 9) |"
    done
done <<<"$names"

best() {  # best median req/s at 32 connections over the keep_conn settings of a row
    local a b; a="$(stat "$1, keep_conn off" 32 3)"; b="$(stat "$1, keep_conn on" 32 3)"
    awk -v a="$a" -v b="$b" 'BEGIN { print (a > b) ? a : b }'
}
raw="$(best "raw libfcgi")"
get="$(best "fcgihost GET /")"
work0="$(best "fcgihost /work?ms=0")"
work1="$(best "fcgihost /work?ms=1")"
durable="$(best "fcgihost /work?ms=0&durable=1")"
durable_p50="$(stat "fcgihost /work?ms=0&durable=1, keep_conn on" 1 4)"
php="$(best "PHP-FPM hello")"
phpf="$(best "PHP-FPM finish_request+1ms")"
tail_ratio() { ratio "$(stat "$1" "$2" 6)" "$(stat "$1" "$2" 4)"; }
worst_tail="0"
for row in "fcgihost GET /, keep_conn on" "fcgihost /work?ms=0, keep_conn on"; do
    for c in 1 32; do
        worst_tail="$(awk -v a="$worst_tail" -v b="$(tail_ratio "$row" "$c")" 'BEGIN { print (b > a) ? b : a }')"
    done
done
fq="$(awk '$1 == "fcgihost_ns_per_job" { print $2 }' "$queue" | median)"
aq="$(awk '$1 == "asio_ns_per_job" { print $2 }' "$queue" | median)"
bytes="$(awk '$1 == "bytes_per_waiting_job" { print $2 }' "$queue")"
idle_exit="$(awk '$1 == "sigterm_idle_to_exit_ms" { print $2 }' "$shutdown" | median)"
idle_max="$(awk '$1 == "sigterm_idle_to_exit_ms" { print $2 }' "$shutdown" | sort -n | tail -n 1)"
job_exit="$(awk '$1 == "last_job_to_exit_ms" { print $2 }' "$shutdown" | median)"
job_max="$(awk '$1 == "last_job_to_exit_ms" { print $2 }' "$shutdown" | sort -n | tail -n 1)"

cat <<TARGETS

## Queue and shutdown

- Queue and run one empty job (10^6 jobs, 4 workers): fcgihost ${fq} ns, boost::asio::thread_pool ${aq} ns. Memory per waiting job (with a name like the demo's): ${bytes} bytes.
- SIGTERM to exit with every request thread idle: median ${idle_exit} ms, max ${idle_max} ms. End of the last job (its fsync'd line) to exit: median ${job_exit} ms, max ${job_max} ms.

## Targets

| target | measured | verdict |
| --- | --- | --- |
| GET / >= 0.90x raw libfcgi at 32 connections (best keep_conn each) | $(ratio "$get" "$raw")x | $(verdict "$(ratio "$get" "$raw")" ">=" 0.90) |
| /work?ms=0 >= 0.85x raw libfcgi | $(ratio "$work0" "$raw")x | $(verdict "$(ratio "$work0" "$raw")" ">=" 0.85) |
| GET / >= 1.5x PHP-FPM hello | $(ratio "$get" "$php")x | $(verdict "$(ratio "$get" "$php")" ">=" 1.5) |
| durable /work?ms=0&durable=1 >= 0.5x in-memory /work?ms=0 at 32 connections | $(ratio "$durable" "$work0")x | $(verdict "$(ratio "$durable" "$work0")" ">=" 0.5) |
| durable enqueue through FastCGI: p50 <= 1 ms at 1 connection (keep_conn on) | $(ms "$durable_p50") ms | $(verdict "$(ms "$durable_p50")" "<=" 1) |
| /work?ms=1 >= 5x PHP-FPM fastcgi_finish_request + 1 ms | $(ratio "$work1" "$phpf")x | $(verdict "$(ratio "$work1" "$phpf")" ">=" 5) |
| keep_conn on: p99 <= 10x p50 (fcgihost rows, 1 and 32 connections) | worst ${worst_tail}x | $(verdict "$worst_tail" "<=" 10) |
| queue-and-run <= 2x boost::asio::thread_pool | $(ratio "$fq" "$aq")x | $(verdict "$(ratio "$fq" "$aq")" "<=" 2) |
| exit <= 50 ms after the last job ends | ${job_max} ms (max) | $(verdict "$job_max" "<=" 50) |
| exit <= 100 ms after SIGTERM when idle | ${idle_max} ms (max) | $(verdict "$idle_max" "<=" 100) |

![latency percentiles at 32 connections](latency.png)
TARGETS
