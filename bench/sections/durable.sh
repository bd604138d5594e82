#!/usr/bin/env bash
# Durable job stores side by side, SQLite (a file in WORK_DIR) and PostgreSQL 15 (started here
# in WORK_DIR, on a unix socket only, with its default durability: fsync and
# synchronous_commit on, like SQLite's synchronous=FULL): enqueue latency, jobs completed per
# second by 1 and 2 processes sharing the store, and enqueue->start latency across processes.
# Every measurement gets a fresh store (a new file, new tables); rounds alternate the stores.
# Usage: durable.sh BUILD_DIR WORK_DIR ROUNDS SECONDS   (prints a Markdown section)
set -euo pipefail
build="$(cd "$1" && pwd)"
work="$(cd "$2" && pwd)"
rounds="$3"
secs="$4"
pg_bin=/usr/lib/postgresql/15/bin
pg="$work/pg"
server_pid=""
stop_server() {
    [ -n "$server_pid" ] || return 0
    kill -INT "$server_pid" 2>/dev/null || true   # fast shutdown: sessions ended, data written
    wait "$server_pid" 2>/dev/null || true
}
trap stop_server EXIT
trap 'exit 130' INT   # through the EXIT trap: the server is stopped on Ctrl-C too
trap 'exit 143' TERM

# initdb and postgres refuse to run as root: then they run as nobody. setpriv execs the
# command, so $! is the server itself.
mkdir -p "$pg" "$work/sqlite"
as_server=()
if [ "$(id -u)" -eq 0 ]; then
    as_server=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
    chown nobody:nogroup "$pg"
    "${as_server[@]}" test -w "$pg" || { echo "durable: nobody cannot reach $pg (a parent directory is closed)" >&2; exit 1; }
fi
"${as_server[@]}" "$pg_bin/initdb" -D "$pg/data" -U fcgihost --auth=trust --no-sync -E UTF8 --locale=C \
    >"$pg/initdb.log" 2>&1 || { cat "$pg/initdb.log" >&2; exit 1; }
"${as_server[@]}" "$pg_bin/postgres" -D "$pg/data" -c listen_addresses= -c unix_socket_directories="$pg" \
    >"$pg/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do
    "$pg_bin/pg_isready" -q -h "$pg" -U fcgihost && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$pg/server.log" >&2; exit 1; }
    sleep 0.1
done
"$pg_bin/pg_isready" -q -h "$pg" -U fcgihost || { echo "durable: PostgreSQL did not start" >&2; exit 1; }

# A fresh PostgreSQL store is a role whose own schema ("$user" leads the default search_path)
# gets the tables: a database per run would copy a template each time, and the flush of
# those copies would disturb the runs that follow.
new_store() {  # store name -> a --job-store nobody has used
    if [ "$1" = sqlite ]; then
        echo "$work/sqlite/$2.db"
    else
        "$pg_bin/psql" -q -h "$pg" -U fcgihost -d postgres -c "CREATE ROLE $2 LOGIN" -c "CREATE SCHEMA $2 AUTHORIZATION $2"
        echo "host=$pg user=$2 dbname=postgres"
    fi
}

enqueue_at_1=$((250 * secs)) each_at_32=$((25 * secs)) jobs=$((500 * secs))
wake_jobs=$(((200 + rounds - 1) / rounds)) wake_spacing_ms=20
results="$work/results.txt"   # store name value
: >"$results"
for round in $(seq 1 "$rounds"); do
    for store in sqlite pg; do
        echo "durable: round $round, $store" >&2
        at="$(new_store $store "e${round}_1")"
        at_32="$(new_store $store "e${round}_32")"
        "$build/durable_store_bench" enqueue "$at" "$at_32" "$enqueue_at_1" "$each_at_32" | sed "s/^/$store /" >>"$results"
        for processes in 1 2; do
            at="$(new_store $store "t${round}_$processes")"
            mkdir -p "$work/t-$store-$round-$processes"
            "$build/durable_store_bench" throughput "$at" "$processes" "$jobs" "$work/t-$store-$round-$processes" |
                sed "s/^/$store /" >>"$results"
        done
        at="$(new_store $store "w$round")"
        mkdir -p "$work/w-$store-$round"
        "$build/durable_wake_bench" "$build/fcgihost-demo" "$at" "$wake_jobs" "$wake_spacing_ms" "$work/w-$store-$round" |
            sed "s/^/$store /" >>"$results"
    done
done

median() {  # store name
    awk -v s="$1" -v n="$2" '$1 == s && $2 == n { print $3 }' "$results" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
pooled() {  # store name fraction: that percentile of every sample of every round
    awk -v s="$1" -v n="$2" '$1 == s && $2 == n { print $3 }' "$results" | sort -n |
        awk -v p="$3" '{ v[NR] = $1 } END { i = int(p * NR) + 1; if (i > NR) i = NR; print NR ? v[i] : 0 }'
}
ms() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1000 }'; }
whole() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == ">=") ? v >= t : v <= t; print ok ? "PASS" : "MISS" }'; }
row() {  # label in-memory sqlite pg
    echo "| $1 | $2 | $3 | $4 |"
}
latency_row() {  # label name
    row "$1" "$(ms "$(median sqlite "memory_$2")")" "$(ms "$(median sqlite "durable_$2")")" "$(ms "$(median pg "durable_$2")")"
}
wake_samples="$(awk '$1 == "pg" && $2 == "start_ms"' "$results" | wc -l)"
pg_wake_p50="$(pooled pg start_ms 0.5)"

cat <<HEAD
## Durable stores: SQLite and PostgreSQL

Both stores as a host uses them (\`open_job_store\` and the durable runner, 4 workers per
process), each measurement on a fresh store; SQLite in WAL mode with \`synchronous=FULL\`,
PostgreSQL $("$pg_bin/postgres" --version | awk '{ print $3 }') started by the bench on a unix socket with fsync and
synchronous_commit on; both on the same disk. Enqueue: ${enqueue_at_1} enqueues from 1 thread, ${each_at_32}
from each of 32 threads, in-process (no FastCGI) while the workers run the jobs; in-memory
\`queue()\` is the baseline. Jobs/s: ${jobs} no-op jobs, enqueued by 16 threads per process
while its workers run them, from the first enqueue to the last job run. Enqueue->start:
${wake_jobs} jobs per round sent ${wake_spacing_ms} ms apart (far below what the worker can run, so no job
waits behind another) through FastCGI to a \`--workers 0\` demo, run by a second demo
(\`--workers 4\`) on the same store, until its log shows the job (percentiles of all
${wake_samples} samples). ${rounds} rounds; medians of rounds elsewhere.

| figure | in-memory \`queue()\` | SQLite | PostgreSQL |
| --- | ---: | ---: | ---: |
HEAD
latency_row "enqueue p50 ms, 1 producer" "enqueue_p50_us_1"
latency_row "enqueue p99 ms, 1 producer" "enqueue_p99_us_1"
latency_row "enqueue p50 ms, 32 producers" "enqueue_p50_us_32"
latency_row "enqueue p99 ms, 32 producers" "enqueue_p99_us_32"
row "jobs/s, 1 process" - "$(whole "$(median sqlite jobs_per_s_1)")" "$(whole "$(median pg jobs_per_s_1)")"
row "jobs/s, 2 processes" - "$(whole "$(median sqlite jobs_per_s_2)")" "$(whole "$(median pg jobs_per_s_2)")"
row "jobs/s, 2 processes / 1 process" - "$(ratio "$(median sqlite jobs_per_s_2)" "$(median sqlite jobs_per_s_1)")x" \
    "$(ratio "$(median pg jobs_per_s_2)" "$(median pg jobs_per_s_1)")x"
row "enqueue->start across processes p50 ms" - "$(pooled sqlite start_ms 0.5)" "$pg_wake_p50"
row "enqueue->start across processes p99 ms" - "$(pooled sqlite start_ms 0.99)" "$(pooled pg start_ms 0.99)"
cat <<TARGETS

| target | measured | verdict |
| --- | --- | --- |
| PostgreSQL enqueue->start across processes p50 <= 250 ms | ${pg_wake_p50} ms | $(verdict "$pg_wake_p50" "<=" 250) |
TARGETS
