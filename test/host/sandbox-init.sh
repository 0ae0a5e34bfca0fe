#!/bin/sh
# Pid 1 of a sandbox host (test/host/sandbox.ts starts it under
#   unshare --mount --propagation private --pid --fork --mount-proc --net).
# Puts tmpfs or private copies over every place the bundle's scripts write, installs the shims first
# on PATH, brings up a private loopback, prints "ready" and then only reaps orphans until killed.
# Nothing it mounts is visible outside this mount namespace; killing it ends every process inside.
#   $1                  the sandbox directory on the real file system (shim state, copies, work files)
#   PLC_SANDBOX_HIDE    tools that must look absent (e.g. "restic")
#   PLC_SANDBOX_ENGINE  1: a real dockerd will run inside (test/engine): no docker shim, and /sys
#                       shows this network namespace (dockerd finds its bridges there)
set -eu
sandbox=$1
shims=$(cd "$(dirname "$0")/shims" && pwd -P)
# The caller's checkout may live under /root, which gets its own tmpfs below: keep a copy of the shims.
mkdir -p "$sandbox/shims"
cp "$shims"/* "$sandbox/shims/"
shims=$sandbox/shims

private_tmpfs() {
  if [ -d "$1" ]; then mount -t tmpfs -o "mode=${2:-0755}" plc-sandbox "$1"; fi
}
# A writable private copy of a directory or file, so the host's own contents stay readable.
private_copy() {
  [ -e "$1" ] || return 0
  copy=$sandbox/copies$1
  mkdir -p "$(dirname "$copy")"
  cp -a "$1" "$copy"
  mount --bind "$copy" "$1"
}

if [ "${PLC_SANDBOX_ENGINE:-}" = 1 ]; then
  # A sysfs mounted here belongs to this network namespace (what `ip netns exec` does); the cgroup
  # tree under it is moved over, since dockerd puts its containers there.
  mkdir -p "$sandbox/cgroup"
  mount --rbind /sys/fs/cgroup "$sandbox/cgroup"
  umount -l /sys
  mount -t sysfs -o nosuid,nodev,noexec plc-sandbox /sys
  mount --move "$sandbox/cgroup" /sys/fs/cgroup
fi
private_tmpfs /home
private_tmpfs /root 0700
private_tmpfs /etc/systemd/system
private_tmpfs /etc/logrotate.d
# /run whole: locks, pid files, sshd's privilege separation directory stay private.
private_tmpfs /run
mkdir -p /run/lock /run/sshd
chmod 1777 /run/lock
private_tmpfs /var/log/nginx
private_tmpfs /var/lib/logrotate
private_tmpfs /usr/local/sbin
private_tmpfs /srv
private_copy /etc/nginx
private_copy /etc/ssh
private_copy /etc/passwd
private_copy /etc/group
private_copy /etc/shadow

# The shims come first, even before the PATH the scripts set (/usr/local/sbin leads it), and replace
# a real systemctl or docker outright so nothing reaches the machine's systemd or engine.
for shim in "$shims"/*; do
  tool=${shim##*/}
  if [ "$tool" = docker ] && [ "${PLC_SANDBOX_ENGINE:-}" = 1 ]; then continue; fi
  cp "$shim" "/usr/local/sbin/$tool"
  chmod 0755 "/usr/local/sbin/$tool"
  for real in /usr/bin/"$tool" /bin/"$tool" /usr/sbin/"$tool" /sbin/"$tool"; do
    if [ -f "$real" ] && [ ! -L "$real" ]; then mount --bind "/usr/local/sbin/$tool" "$real"; fi
  done
done

# A hidden tool: its directory is replaced by symlinks to everything else in it.
for tool in ${PLC_SANDBOX_HIDE:-}; do
  for bin in /usr/local/bin /usr/bin /usr/sbin; do
    [ -e "$bin/$tool" ] || continue
    original=$sandbox/hidden$bin
    mkdir -p "$original"
    mount --bind "$bin" "$original"
    mount -t tmpfs -o mode=0755 plc-sandbox "$bin"
    # cp itself may live in the directory just covered: run it from the original.
    if [ -x "$sandbox/hidden/usr/bin/cp" ]; then cp=$sandbox/hidden/usr/bin/cp; else cp=/usr/bin/cp; fi
    "$cp" -as "$original/." "$bin/"
    rm -f "$bin/$tool"
  done
done

# The postgres image runs as uid 999, a user its own /etc/passwd knows; the docker shim runs the
# server on this host, so the sandbox's private passwd copy knows it too (initdb looks it up).
if ! getent passwd 999 >/dev/null; then
  printf 'postgres-image:x:999:999:postgres in its image:/var/lib/postgresql:/usr/sbin/nologin\n' >>/etc/passwd
fi

# restic and lftp keep caches under HOME: root's home is the fresh tmpfs above.
mkdir -p /root/.ssh
chmod 0700 /root/.ssh
# systemd-analyze verify wants the units a service names to exist; a host with docker has this one.
printf '[Unit]\nDescription=Docker (sandbox stand-in)\n[Service]\nExecStart=/usr/local/sbin/docker version\n' \
  >/etc/systemd/system/docker.service

ip link set lo up
echo ready
# Pid 1 must reap orphans (the "containers" the docker shim starts outlive the shell that ran docker).
trap 'exit 0' TERM INT
while :; do
  sleep 3600 &
  wait $! || true
done
