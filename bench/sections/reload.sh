#!/usr/bin/env bash
# Deploying a new version behind nginx: reload (SIGUSR2) against stop-and-start on a held
# socket, with a 4 s job in the old process and GET /status every 5 ms through nginx; a
# baseline window without a deploy in the same run. The figures come from reload_bench.
# Usage: reload.sh BUILD_DIR WORK_DIR ROUNDS SECONDS   (SECONDS is not used: each window
# lasts as long as the deploy it shows)
set -euo pipefail
build="$(cd "$1" && pwd)"
rounds="${3:-3}"
[ -x "$build/reload_bench" ] || { echo "reload.sh: $build/reload_bench missing (make $build/reload_bench)" >&2; exit 1; }
"$build/reload_bench" "$build/fcgihost-demo" "$rounds"
