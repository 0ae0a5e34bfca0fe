#!/bin/sh
# Starts the real dockerd inside an engine host (run there by test/engine/engine.ts, after
# sandbox-init.sh with PLC_SANDBOX_ENGINE=1): its own containerd, socket and exec root in the
# host's private /run, data in the sandbox directory, containers' cgroups under a parent named
# after the sandbox so they are found and removed with it. Returns once the daemon answers.
#   $1  the sandbox directory
set -eu
dir=$1
mkdir -p "$dir/docker"
# setsid: the daemon outlives this script; pid 1 of the namespace reaps it. --debug logs every API
# call, so a test can tell that nothing was pulled (POST /images/create).
setsid dockerd --debug --data-root "$dir/docker" --cgroup-parent "/${dir##*/}" --pidfile /run/docker.pid \
  </dev/null >>"$dir/dockerd.log" 2>&1 &
i=0
until docker version >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 300 ]; then
    echo "dockerd did not answer within 30 s; its log:" >&2
    tail -n 30 "$dir/dockerd.log" >&2
    exit 1
  fi
  sleep 0.1
done
