#!/bin/sh
# The engine suite's app (busybox httpd in a busybox-static image, made by test/engine/engine.ts).
# Serves $APP_VERSION on port 8000, /env.txt (the environment it got) and /id.txt (uid:gid); logs
# each start and each stop signal to /app/log/app.log, so a test can tell a clean stop from a kill.
#   APP_MODE=ok (default) | wrong-port (listens on 9999: the health check fails) | crash (exits 1)
set -u
www=/tmp/www
mkdir -p "$www"
printf '%s\n' "${APP_VERSION:-unknown}" >"$www/index.html"
env >"$www/env.txt"
printf '%s:%s\n' "$(id -u)" "$(id -g)" >"$www/id.txt"
log() {
  printf '%s %s\n' "$(date -u +%FT%TZ)" "$*" >>/app/log/app.log || echo "app: cannot write /app/log/app.log as uid $(id -u)" >&2
}
log "start ${APP_VERSION:-} uid=$(id -u)"
echo "app ${APP_VERSION:-} starting, mode ${APP_MODE:-ok}"
echo "app ${APP_VERSION:-} has a stderr too" >&2
case ${APP_MODE:-ok} in
  crash)
    echo "app: crashing on purpose" >&2
    exit 1
    ;;
  wrong-port) port=9999 ;;
  *) port=8000 ;;
esac
httpd -f -p "$port" -h "$www" &
server=$!
# As pid 1 the shell ignores signals it has no trap for: docker stop would wait its whole timeout.
trap 'log "stop TERM ${APP_VERSION:-}"; kill "$server"; exit 0' TERM
trap 'log "stop INT ${APP_VERSION:-}"; kill "$server"; exit 0' INT
wait "$server"
