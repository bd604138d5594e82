# Sourced by the bench scripts that put their own nginx in front of what they measure.
# write_nginx_conf WORK HTTP: writes WORK/nginx.conf (foreground, one worker, its pid, logs
# and temp files under WORK) with HTTP inside its http { } block.
write_nginx_conf() {
    local work="$1" http="$2"
    mkdir -p "$work/temp"
    cat > "$work/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/temp/body;
    fastcgi_temp_path $work/temp/fastcgi;
$http
}
CONF
    # Run as root, nginx's workers are nobody: they write request bodies under temp/.
    if [ "$(id -u)" -eq 0 ]; then chown -R nobody:nogroup "$work/temp"; fi
}
