// The receiver: a POSIX sh text the host runs from `sh -c`, reading plc's one stream on stdin.
// It holds no value of the project; its arguments are the bundle's sha256 and root folder name.

/** Exit statuses the receiver keeps for itself; any other status is install.sh's. */
export const RECEIVER_STATUS = {
  incomplete: 90,
  checksum: 91,
  sudo: 92,
  host: 93,
} as const;

/**
 * The start both remote runners share (plc ship's receiver, plc init's and plc install's prep runner):
 * `fail STATUS WORDS`, the temporary folder `$dir` removed on any exit (through `$sudo` when root
 * wrote in it), and the tools the unpacking needs. The caller sets `dir=` and `sudo=` before.
 */
export function remotePreamble(program: string): string {
  return `fail() { status=$1; shift; printf '${program}: error: %s\\n' "$*" >&2; exit "$status"; }
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { [ -z "$dir" ] || rm -rf "$dir" 2>/dev/null || $sudo rm -rf "$dir" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
for tool in tar gzip sha256sum mktemp; do
  command -v "$tool" >/dev/null 2>&1 || fail ${RECEIVER_STATUS.host} "$tool is missing on this host (nothing was changed)"
done
`;
}

/** Lines on stderr starting with this mark report a phase to plc instead of being shown. */
export const PHASE_MARK = "@@plc-ship ";

/** Names of the stream's entries, in the order they travel. `END` comes last, so a cut stream lacks it. */
export const STREAM = { bundle: "bundle.tar.gz", secrets: "secrets.env", signature: "bundle.tar.gz.sig", image: "image", end: "END" } as const;

/** $4 when plc ship sends the image layer by layer: the receiver first lists the host's layer stacks. */
export const LAYERS_ARGUMENT = "layers";

/**
 * The receiver script. Arguments: $1 the bundle's sha256, $2 its root folder, $3 install.sh's mode option
 * or empty, $4 `layers` when the image comes as its archive's files (then the bundle's sha256 is in END).
 */
export function receiverScript(): string {
  const s = RECEIVER_STATUS;
  return `set -u
umask 077
expected=$1
root=$2
mode=\${3:-}
layered=\${4:-}
dir=
sudo=
installer=
phase() { printf '${PHASE_MARK}%s\\n' "$*" >&2; }
# A write to a cut connection must not kill the receiver before it cleans up.
trap '' PIPE
${remotePreamble("plc-ship")}# Checked before the stream is read, so a refusal costs no transfer.
if [ "$(id -u)" != 0 ]; then
  user=$(id -un)
  command -v sudo >/dev/null 2>&1 || fail ${s.sudo} "user $user is not root and sudo is not installed: ship as root@host or install sudo (nothing was changed)"
  # plc's restricted deploy user (plc install deploy) may run only plc-install, which checks the signature.
  if ! sudo -n true 2>/dev/null </dev/null && [ -x /usr/local/sbin/plc-install ] && sudo -n --list /usr/local/sbin/plc-install >/dev/null 2>&1 </dev/null; then
    installer=/usr/local/sbin/plc-install
    phase ready plc-install "$user"
  else
    if ! sudo -n true 2>/dev/null </dev/null; then
      # playlabs' deploy user may run only a few commands without a password (backup.sh, docker-run.sh, docker pull…).
      if sudo -n --list 2>/dev/null </dev/null | grep -q 'NOPASSWD'; then
        fail ${s.sudo} "user $user may run only some commands through sudo without a password (playlabs' deploy user: /home/*/backup.sh, /home/*/docker-run.sh, docker pull…); plc ship runs as root, which needs the sudoers rule: $user ALL=(root) NOPASSWD: ALL, or plc install deploy for signed bundles, or ship as root@host (nothing was changed)"
      fi
      fail ${s.sudo} "sudo asks user $user for a password, which plc cannot type: allow it without one (sudoers: $user ALL=(root) NOPASSWD: ALL) or ship as root@host (nothing was changed)"
    fi
    phase ready sudo "$user"
  fi
  sudo='sudo -n'
else
  phase ready root
fi
if [ "$layered" = ${LAYERS_ARGUMENT} ]; then
  # The layer stacks this host's docker holds (diff IDs, bottom first, one image a line), before the
  # stream: plc sends only the layers they lack. Nothing listed (no docker, no access): all travel.
  if [ -z "$installer" ] && command -v docker >/dev/null 2>&1; then
    # $sudo is empty or "sudo -n", split on purpose.
    # shellcheck disable=SC2086
    $sudo docker image ls --all --quiet --no-trunc 2>/dev/null | sort -u | xargs -r $sudo docker image inspect --format '{{range .RootFS.Layers}}{{.}} {{end}}' 2>/dev/null | sort -u | while read -r stack; do phase layers "$stack"; done
  fi
  phase listed
fi
dir=$(mktemp -d "\${TMPDIR:-/tmp}/plc-ship.XXXXXXXX") || fail ${s.host} "cannot create a temporary directory (nothing was changed)"
# The stream is a tar archive: ${STREAM.bundle}, ${STREAM.secrets} when there are secrets, ${STREAM.end} last.
tar -xf - -C "$dir" 2>/dev/null || fail ${s.incomplete} "the transfer was cut before its end (nothing was changed)"
[ -f "$dir/${STREAM.end}" ] || fail ${s.incomplete} "the transfer was cut before its end (nothing was changed)"
phase received
(cd "$dir" && sha256sum -c --strict --quiet ${STREAM.end} >/dev/null 2>&1) || fail ${s.checksum} "the stream does not match its checksums (nothing was changed)"
if [ "$layered" = ${LAYERS_ARGUMENT} ]; then
  # plc made this bundle.tar.gz (the built one without image.tar) as it sent it: its sha256 is in END.
  grep -q '^[0-9a-f]\\{64\\}  ${STREAM.bundle}$' "$dir/${STREAM.end}" || fail ${s.checksum} "the stream's END names no bundle (nothing was changed)"
else
  printf '%s  %s\\n' "$expected" "$dir/${STREAM.bundle}" | sha256sum -c --strict --quiet >/dev/null 2>&1 || fail ${s.checksum} "the bundle's sha256 is not the one plc computed (nothing was changed)"
fi
# Read before unpacking: only regular files and directories. (GNU tar itself refuses members with '..'.)
listing=$(tar -tvzf "$dir/${STREAM.bundle}" 2>/dev/null) || fail ${s.host} "cannot read the bundle (nothing was changed)"
if printf '%s\n' "$listing" | grep -q '^[^-d]'; then fail ${s.checksum} "the bundle holds a link, a device node or a FIFO (nothing was changed)"; fi
# Owner 0 and plain modes whatever the tar headers say; install.sh then applies MANIFEST.json's modes.
{ mkdir "$dir/bundle" && tar -xzf "$dir/${STREAM.bundle}" -C "$dir/bundle" --no-same-owner --no-same-permissions 2>/dev/null; } || fail ${s.host} "cannot unpack the bundle (nothing was changed)"
if [ -n "$installer" ]; then
  [ -f "$dir/${STREAM.signature}" ] || fail ${s.sudo} "user $user may install signed bundles only: plc sign BUNDLE --key KEY writes BUNDLE.sig, which plc ship sends (nothing was changed)"
else
  rm -f "$dir/${STREAM.bundle}"
fi
[ "$(ls -A "$dir/bundle")" = "$root" ] || fail ${s.checksum} "the bundle holds a path outside $root/ (nothing was changed)"
[ -z "$(find "$dir/bundle" ! -type f ! -type d)" ] || fail ${s.checksum} "the bundle holds a link, a device node or a FIFO (nothing was changed)"
[ -z "$(find "$dir/bundle" -type f -links +1)" ] || fail ${s.checksum} "the bundle holds a hard link (nothing was changed)"
[ -z "$(find "$dir/bundle/$root" -mindepth 2 -name SHA256SUMS)" ] || fail ${s.checksum} "the bundle holds a nested SHA256SUMS (nothing was changed)"
[ -f "$dir/bundle/$root/install.sh" ] || fail ${s.host} "the bundle holds no $root/install.sh (nothing was changed)"
phase verified
# PLC_SHIP_EVENTS: install.sh marks its events (backup, checks, rollback) for plc ship's notifications.
set -- env PLC_SHIP_EVENTS=1 sh "$dir/bundle/$root/install.sh"
if [ -n "$installer" ]; then set -- "$installer" "$dir/${STREAM.bundle}" "$dir/${STREAM.signature}"; fi
if [ -f "$dir/${STREAM.secrets}" ]; then set -- "$@" --secrets "$dir/${STREAM.secrets}"; fi
if [ -d "$dir/${STREAM.image}" ]; then set -- "$@" --image-parts "$dir/${STREAM.image}"; fi
if [ -n "$mode" ]; then set -- "$@" "$mode"; fi
phase installing
$sudo "$@" </dev/null
status=$?
phase installed "$status"
exit "$status"
`;
}
