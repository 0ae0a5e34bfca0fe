// Runs a prep bundle on a host over one ssh connection: the tarball on stdin, checked against its
// sha256, unpacked in a temporary folder, prep.sh run as root (through sudo -n when not root).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { diagnostic, type Diagnostic } from "../diagnostics.js";
import { sh } from "../render/quote.js";
import { RECEIVER_STATUS, remotePreamble } from "../ship/receiver.js";
import { sshArguments, type Destination, type SshSettings } from "../ship/ssh.js";
import { PREP_ROOT } from "./index.js";

/** Exit statuses the runner keeps for itself, the receiver's; any other is prep.sh's. */
export const RUNNER_STATUS = RECEIVER_STATUS;

/** The runner: $1 the bundle's sha256, then prep.sh's arguments. Holds no value of the bundle. */
export function runnerScript(): string {
  const s = RUNNER_STATUS;
  return `set -u
umask 077
expected=$1
shift
dir=
sudo=
${remotePreamble("plc-prep")}if [ "$(id -u)" != 0 ]; then
  user=$(id -un)
  command -v sudo >/dev/null 2>&1 || fail ${s.sudo} "user $user is not root and sudo is not installed: connect as root@host (nothing was changed)"
  sudo -n true 2>/dev/null </dev/null || fail ${s.sudo} "sudo asks user $user for a password, which plc cannot type: connect as root@host, or run plc init first (nothing was changed)"
  sudo='sudo -n'
fi
dir=$(mktemp -d "\${TMPDIR:-/tmp}/plc-prep.XXXXXXXX") || fail ${s.host} "cannot create a temporary directory (nothing was changed)"
cat >"$dir/prep.tar.gz" || fail ${s.incomplete} "the transfer was cut before its end (nothing was changed)"
printf '%s  %s\\n' "$expected" "$dir/prep.tar.gz" | sha256sum -c --strict --quiet >/dev/null 2>&1 || fail ${s.checksum} "the bundle's sha256 is not the one plc computed (nothing was changed)"
tar -xzf "$dir/prep.tar.gz" -C "$dir" --no-same-owner 2>/dev/null || fail ${s.host} "cannot unpack the bundle (nothing was changed)"
rm -f "$dir/prep.tar.gz"
$sudo sh "$dir/${PREP_ROOT}/prep.sh" "$@" </dev/null
`;
}

/** The login shell's command: `sh -c RUNNER plc-prep SHA256 ARGS…`. */
export function runnerCommand(sha256: string, args: readonly string[]): string {
  return ["sh", "-c", sh(runnerScript()), "plc-prep", sha256, ...args.map((arg) => sh(arg))].join(" ");
}

/** Sends the bundle and runs prep.sh with args; its output goes to plc's; a diagnostic when it failed. */
export function runPrep(destination: Destination, settings: SshSettings, tgz: Buffer, args: readonly string[]): Promise<Diagnostic | undefined> {
  const sha256 = createHash("sha256").update(tgz).digest("hex");
  const child = spawn("ssh", sshArguments(destination, settings, runnerCommand(sha256, args)), { stdio: ["pipe", "inherit", "inherit"] });
  child.stdin.on("error", () => undefined);
  child.stdin.end(tgz);
  return new Promise((resolve) => {
    child.on("error", (error) => {
      resolve(diagnostic("prep-ssh-missing", { problem: error.message }));
    });
    child.on("close", (code, signal) => {
      if (code === 0) {
        resolve(undefined);
        return;
      }
      resolve(diagnostic("prep-failed", { host: destination.label, reason: code === 255 ? "connect" : code === RUNNER_STATUS.sudo ? "sudo" : "stopped", status: String(code ?? signal) }));
    });
  });
}
