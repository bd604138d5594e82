#!/usr/bin/env bash
# Worker policies side by side (batch, idle, adaptive), each a bench_app behind one nginx:
#  - GET / p99 at 32 connections with idle workers, then with one CPU-bound job per worker
#    (the ratio: what background jobs cost requests);
#  - short CPU jobs completed per second while a competitor outside the process (a
#    `yes >/dev/null` per core, nice 0) keeps every core busy, under the same request load
#    (what the policy costs the jobs: starvation).
# Policies are interleaved within each round; medians over the rounds.
# Usage: worker_policy.sh BUILD_DIR WORK_DIR ROUNDS SECONDS
set -euo pipefail
. "$(dirname "$0")/../nginx_conf.sh"
build="$(cd "$1" && pwd)"
work="$(cd "$2" && pwd)"
rounds="$3"
secs="$4"
cores="$(nproc)"
threads="$(( 2 * cores ))"
policies=(batch idle adaptive)
default=adaptive
short_ms=2             # CPU time of one short job
port_base=18590
pids=()
hogs=()
cleanup() {
    for pid in "${hogs[@]}" "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${hogs[@]}" "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

mkdir -p "$work/temp"
chmod 755 "$work"
servers=""
for i in "${!policies[@]}"; do
    p="${policies[$i]}"
    "$build/bench_app" --socket "$work/app-$p.sock" --socket-mode 0666 --threads "$threads" --workers "$cores" \
        --worker-policy "$p" --queue-capacity 1000000 --log-level warn --status-path /status 2>"$work/app-$p.log" &
    pids+=($!)
    servers+="upstream app_$p { server unix:$work/app-$p.sock; keepalive 32; }
    server { listen 127.0.0.1:$((port_base + i)); location / { include /etc/nginx/fastcgi_params;
        fastcgi_param REQUEST_URI \$request_uri; fastcgi_keep_conn on; fastcgi_pass app_$p; } }
"
done
write_nginx_conf "$work" "$servers"
nginx -p "$work" -c "$work/nginx.conf" & pids+=($!)

port_of() { local i; for i in "${!policies[@]}"; do if [ "${policies[$i]}" = "$1" ]; then echo $((port_base + i)); fi; done; }
for p in "${policies[@]}"; do
    port="$(port_of "$p")"
    for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
    curl -sf -o /dev/null "http://127.0.0.1:$port/" || { echo "worker_policy: app $p does not answer" >&2; exit 1; }
done

status_field() {  # port field: a number from the app's /status JSON
    curl -s "http://127.0.0.1:$1/status" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}
settle() {  # port: waits (at most 60 s) until the app has no job queued or running
    for _ in $(seq 1 600); do
        [ "$(status_field "$1" running)" = 0 ] && [ "$(status_field "$1" queued)" = 0 ] && return 0
        sleep 0.1
    done
    echo "worker_policy: jobs never ended on port $1" >&2
    exit 1
}
wait_running() {  # port n: waits (at most 30 s) until the app has n jobs running
    for _ in $(seq 1 300); do [ "$(status_field "$1" running)" = "$2" ] && return 0; sleep 0.1; done
    echo "worker_policy: never $2 jobs running on port $1" >&2
    exit 1
}
p99_of() {  # port: GET / at 32 connections for $secs; prints p99 in us
    wrk -t2 -c32 -d"${secs}s" --latency -s "$(dirname "$0")/../report.lua" "http://127.0.0.1:$1/" |
        sed -n 's/^RESULT .*p99=\([0-9]*\).*/\1/p'
}
now_ms() { date +%s%3N; }

results="$work/results.txt"  # policy|kind|value
: > "$results"
for round in $(seq 1 "$rounds"); do
    for p in "${policies[@]}"; do
        port="$(port_of "$p")"
        settle "$port"
        echo "$p|p99_idle|$(p99_of "$port")" >> "$results"
        # One CPU-bound job per worker, each longer than the measurement.
        curl -s -o /dev/null "http://127.0.0.1:$port/spin?ms=$((secs * 1000 + 500))&count=$cores"
        wait_running "$port" "$cores"
        echo "$p|p99_loaded|$(p99_of "$port")" >> "$results"
        settle "$port"
        # The busy machine: a nice-0 CPU hog per core outside the process, and enough short
        # jobs queued to keep every worker busy for the whole window at full speed.
        for _ in $(seq 1 "$cores"); do yes >/dev/null & hogs+=($!); done
        curl -s -o /dev/null "http://127.0.0.1:$port/spin?ms=$short_ms&count=$((cores * secs * 1000 / short_ms))"
        before="$(status_field "$port" completed)"; t0="$(now_ms)"
        busy_p99="$(p99_of "$port")"
        after="$(status_field "$port" completed)"; t1="$(now_ms)"
        for pid in "${hogs[@]}"; do kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; done
        hogs=()
        echo "$p|jobs_busy|$(( (after - before) * 1000 / (t1 - t0) ))" >> "$results"
        echo "$p|p99_busy|$busy_p99" >> "$results"
        # The short jobs left over run at full speed now: let them end here, not during the
        # next policy's windows.
        settle "$port"
        printf 'worker_policy round %d %-8s %s\n' "$round" "$p" \
            "$(awk -F'|' -v p="$p" '$1 == p { v[$2] = $3 } END { printf "p99 idle %s us, loaded %s us, busy %s us; short jobs/s on a busy machine %s", v["p99_idle"], v["p99_loaded"], v["p99_busy"], v["jobs_busy"] }' "$results")" >&2
    done
done
for p in "${policies[@]}"; do settle "$(port_of "$p")"; done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
stat() { awk -F'|' -v p="$1" -v k="$2" '$1 == p && $2 == k { print $3 }' "$results" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = (op == ">=") ? v >= t : v <= t; print ok ? "PASS" : "MISS" }'; }

cat <<HEAD
## Worker policy: request latency against job starvation

bench_app (\`--workers $cores\`, \`--worker-nice 10\`, \`--threads $threads\`) behind nginx, once per
\`--worker-policy\`, interleaved; $rounds rounds, medians. p99 of GET / at 32 connections for
${secs} s: with idle workers, and with one CPU-bound job per worker. Short jobs: ${short_ms} ms of
CPU each, completed per second while a \`yes >/dev/null\` per core (nice 0) keeps the machine
busy and GET / runs at 32 connections (p99 of those requests in the last column). adaptive
moves a job to SCHED_IDLE once it has used \`--worker-demote-after\` of CPU time (default 50ms).

| policy | p99 idle ms | p99 CPU-bound jobs ms | ratio | short jobs/s, busy machine | vs batch | p99 busy machine ms |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
HEAD
batch_jobs="$(stat batch jobs_busy)"
for p in "${policies[@]}"; do
    echo "| $p$([ "$p" = "$default" ] && echo " (default)") | $(ms "$(stat "$p" p99_idle)") | $(ms "$(stat "$p" p99_loaded)") | $(ratio "$(stat "$p" p99_loaded)" "$(stat "$p" p99_idle)")x | $(stat "$p" jobs_busy) | $(ratio "$(stat "$p" jobs_busy)" "$batch_jobs")x | $(ms "$(stat "$p" p99_busy)") |"
done
load="$(ratio "$(stat "$default" p99_loaded)" "$(stat "$default" p99_idle)")"
starve="$(ratio "$(stat "$default" jobs_busy)" "$batch_jobs")"
cat <<TARGETS

| target | measured | verdict |
| --- | --- | --- |
| p99 under full background CPU load <= 1.5x idle, default \`--worker-policy $default\` | ${load}x | $(verdict "$load" "<=" 1.5) |
| default policy's short-job throughput on a busy machine >= 0.9x batch | ${starve}x | $(verdict "$starve" ">=" 0.9) |
TARGETS
