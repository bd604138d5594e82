#!/usr/bin/env bash
# `make bench`: fcgihost against a raw libfcgi responder (the baseline), PHP-FPM and
# nginx's own ceiling, behind one nginx on loopback, measured with wrk. Runs are
# interleaved (A B C A B C ...) and each row's median is reported as a ratio to the
# baseline measured in the same run. Writes bench/RESULTS.md and bench/latency.png.
# Usage: bench/run.sh BUILD_DIR   (environment: ROUNDS=5 SECONDS_PER_RUN=2)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/nginx_conf.sh"
build="$(cd "$1" && pwd)"
rounds="${ROUNDS:-5}"
secs="${SECONDS_PER_RUN:-2}"
threads="$(( 2 * $(nproc) ))"   # fcgihost's default request threads; the baseline gets the same
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

php_fpm="$(ls /usr/sbin/php-fpm* | head -n 1)"
mkdir -p "$work/temp" "$work/www"
chmod 755 "$work" "$work/www"

# --- backends --------------------------------------------------------------------------
"$build/raw_responder" "$work/raw.sock" "$threads" 2>"$work/raw.log" & pids+=($!)
"$build/fcgihost-demo" --socket "$work/demo.sock" --socket-mode 0666 --threads "$threads" \
    --workers 32 --queue-capacity 100000 --log-level warn 2>"$work/demo.log" & pids+=($!)
# The same demo with a durable job store: /work?durable=1 answers once the job is committed.
"$build/fcgihost-demo" --socket "$work/durable.sock" --socket-mode 0666 --threads "$threads" \
    --workers 32 --queue-capacity 100000 --log-level warn --job-store "$work/jobs.db" \
    2>"$work/durable.log" & pids+=($!)
printf '<?php echo "hello\\n";\n' > "$work/www/hello.php"
printf '<?php echo "queued\\n"; fastcgi_finish_request(); usleep(1000);\n' > "$work/www/finish.php"
cat > "$work/php-fpm.conf" <<CONF
[global]
pid = $work/php-fpm.pid
error_log = $work/php-fpm.log
daemonize = no
[bench]
listen = $work/php.sock
listen.mode = 0666
pm = static
pm.max_children = 4
CONF
"$php_fpm" -R -F -y "$work/php-fpm.conf" & pids+=($!)

# --- nginx: one port per row ------------------------------------------------------------
port_base=18480
rows=()        # "name|port|path"
server_blocks=""
add_row() {  # name upstream path keep(on/off|none)
    local port=$((port_base + ${#rows[@]}))
    rows+=("$1|$port|$3")
    if [ "$2" = none ]; then
        server_blocks+="server { listen 127.0.0.1:$port; location / { return 200 \"hello\\n\"; } }"$'\n'
        return
    fi
    local keep="fastcgi_keep_conn $4;"
    server_blocks+="server { listen 127.0.0.1:$port; location / { include $work/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $work/www\$fastcgi_script_name; fastcgi_param REQUEST_URI \$request_uri;
        $keep fastcgi_pass $2; } }"$'\n'
}
add_row "nginx return 200" none / -
for keep in off on; do
    add_row "raw libfcgi, keep_conn $keep" raw / $keep
    add_row "fcgihost GET /, keep_conn $keep" demo / $keep
    add_row "fcgihost /work?ms=0, keep_conn $keep" demo "/work?ms=0" $keep
    add_row "fcgihost /work?ms=1, keep_conn $keep" demo "/work?ms=1" $keep
    add_row "fcgihost /work?ms=0&durable=1, keep_conn $keep" durable "/work?ms=0&durable=1" $keep
    add_row "PHP-FPM hello, keep_conn $keep" php /hello.php $keep
    add_row "PHP-FPM finish_request+1ms, keep_conn $keep" php /finish.php $keep
done
cp /etc/nginx/fastcgi_params "$work/fastcgi_params"
write_nginx_conf "$work" "    upstream raw { server unix:$work/raw.sock; keepalive 32; }
    upstream demo { server unix:$work/demo.sock; keepalive 32; }
    upstream durable { server unix:$work/durable.sock; keepalive 32; }
    upstream php { server unix:$work/php.sock; keepalive 32; }
$server_blocks"
nginx -p "$work" -c "$work/nginx.conf" & pids+=($!)

# Everything answers before the clock starts.
for row in "${rows[@]}"; do
    IFS='|' read -r name port path <<<"$row"
    for _ in $(seq 1 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$port$path" && break
        sleep 0.1
    done
    curl -sf -o /dev/null "http://127.0.0.1:$port$path" || { echo "bench: $name does not answer" >&2; exit 1; }
done

# --- interleaved runs -------------------------------------------------------------------
results="$work/results.txt"   # name|conns|rps|p50|p90|p99|p999|non2xx|errors
: > "$results"
run_wrk() {  # port path conns
    local t=1; [ "$3" -gt 1 ] && t=2
    wrk -t"$t" -c"$3" -d"${secs}s" --latency -s "$here/report.lua" "http://127.0.0.1:$1$2" | grep '^RESULT'
}
for round in $(seq 1 "$rounds"); do
    for conns in 1 32; do
        for row in "${rows[@]}"; do
            IFS='|' read -r name port path <<<"$row"
            line="$(run_wrk "$port" "$path" "$conns")"
            eval "$(echo "$line" | sed -e 's/^RESULT //')"
            echo "$name|$conns|$(( requests * 1000000 / duration_us ))|$p50|$p90|$p99|$p999|$non2xx|$errors" >> "$results"
            printf 'round %d  c=%-2d %-44s %7d req/s  p99 %6d us\n' "$round" "$conns" "$name" \
                "$(( requests * 1000000 / duration_us ))" "$p99" >&2
        done
    done
done

# --- queue microbenchmark and shutdown timing -------------------------------------------
"$build/queue_bench" 4 "$rounds" > "$work/queue.txt"
"$build/shutdown_bench" "$build/fcgihost-demo" 10 > "$work/shutdown.txt"

# --- sections: each bench/sections/NAME.sh prints a Markdown section of its own ----------
# (a "## Title", its figures, and target rows "| target | measured | PASS/MISS |").
# Usage of each: NAME.sh BUILD_DIR WORK_DIR ROUNDS SECONDS; it starts what it needs itself.
mkdir -p "$work/sections"
for section in "$here"/sections/*.sh; do
    [ -e "$section" ] || continue
    name="$(basename "$section" .sh)"
    echo "bench: section $name" >&2
    mkdir -p "$work/section-$name"
    "$section" "$build" "$work/section-$name" "$rounds" "$secs" > "$work/sections/$name.md"
done

"$here/report.sh" "$results" "$work/queue.txt" "$work/shutdown.txt" "$rounds" "$secs" "$threads" \
    > "$here/RESULTS.md"
for section in "$work"/sections/*.md; do
    [ -e "$section" ] || continue
    { echo; cat "$section"; } >> "$here/RESULTS.md"
done
"$here/plot.sh" "$results" "$here/latency.png"
grep -E '^\| (target|.*(PASS|MISS))' "$here/RESULTS.md" >&2 || true
echo "bench: wrote $here/RESULTS.md and $here/latency.png" >&2
