#!/usr/bin/env bash
# `make run`: serves fcgihost-demo behind a private nginx on http://127.0.0.1:8080/.
# Everything lives in build/run/. Ctrl-C stops nginx and drains the demo (press it again
# to skip the rest of the drain).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
demo="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
run="$(dirname "$demo")/run"
listen="${FCGIHOST_RUN_LISTEN:-127.0.0.1:8080}"
mkdir -p "$run/temp"
rm -f "$run/nginx.pid"

cp /etc/nginx/fastcgi_params "$run/fastcgi_params"
sed -e "s|@SOCKET@|$run/fcgihost.sock|" -e "s|@LISTEN@|$listen|" "$here/fcgihost.conf" > "$run/site.conf"
cat > "$run/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $run/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $run/temp/body;
    fastcgi_temp_path $run/temp/fastcgi;
    proxy_temp_path $run/temp/proxy;
    uwsgi_temp_path $run/temp/uwsgi;
    scgi_temp_path $run/temp/scgi;
    include $run/site.conf;
}
CONF
# As root, nginx's workers run as nobody: they need the temp dirs and the socket.
[ "$(id -u)" -eq 0 ] && chown -R nobody:nogroup "$run/temp"

nginx -t -q -p "$run" -c "$run/nginx.conf"

# fcgihost refuses FCGIHOST_ variables it does not know (a typo must not pass silently),
# so this script's own setting stays out of the demo's environment.
env -u FCGIHOST_RUN_LISTEN "$demo" --socket "$run/fcgihost.sock" --socket-mode 0666 --job-log "$run/jobs.log" &
demo_pid=$!
nginx -p "$run" -c "$run/nginx.conf" &
nginx_pid=$!

cat <<MSG
fcgihost demo behind nginx on http://$listen/
  curl http://$listen/                        -> hello
  curl 'http://$listen/work?ms=3000&id=first' -> 202 now, "done first" in $run/jobs.log 3 s later
  curl http://$listen/status                  -> counters
Ctrl-C stops nginx and drains the demo.
MSG

# Ctrl-C reaches both through the terminal's process group; a TERM to this script
# is passed on. Either way, wait for the demo's drain and report its status.
trap 'kill -TERM $nginx_pid $demo_pid 2>/dev/null || true' TERM
trap ':' INT
# A trapped signal interrupts `wait`; wait again until the demo has really exited.
while kill -0 $demo_pid 2>/dev/null; do wait $demo_pid || true; done
status=0
wait $demo_pid || status=$?
kill -QUIT $nginx_pid 2>/dev/null || true
wait $nginx_pid 2>/dev/null || true
echo "fcgihost-demo exited with status $status"
exit $status
