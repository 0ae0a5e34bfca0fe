// A fresh Debian 12 host for the prep tests: a minbase rootfs made once with mmdebstrap (cached under
// $PLC_ENGINE_CACHE), unpacked per test and run chrooted in private mount, pid and network namespaces
// (loopback only: neither the archive nor this machine's network is reachable) with its own sshd.
// plc runs as the client inside the same network namespace. Killing pid 1 ends everything.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { CLI } from "../fixtures.js";
import { debianRootfs, ENGINE_CACHE } from "../engine/engine.js";
import { isRoot, requireTool } from "../tools.js";

const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// curl and busybox: install.sh needs curl, the docker shim busybox (httpd stands in for a container).
const PACKAGES = "openssh-server,sudo,curl,busybox";

/** Root and the tools; in CI a missing one fails the test. */
export function requirePrepHost(t: TestContext): boolean {
  if (!isRoot()) {
    if (process.env["CI"] !== undefined) assert.fail("the prep host tests need root (unshare, chroot)");
    t.skip("the prep host tests need root");
    return false;
  }
  return requireTool(t, "mmdebstrap", "unshare", "nsenter", "chroot", "ip", "ssh", "ssh-keygen", "apt-get", "dpkg-scanpackages");
}

/** systemctl for a host without systemd: units enabled/started are files; ssh reloads HUP the real sshd. */
const SYSTEMCTL = `#!/bin/sh
state=/var/lib/plc-test-systemctl
mkdir -p "$state"
printf '%s\\n' "$*" >>"$state/calls"
command=$1
shift
now=
units=
for word in "$@"; do
  case $word in
    --now) now=1 ;;
    -*) ;;
    *) units="$units $word" ;;
  esac
done
for unit in $units; do
  unit=\${unit%.service}
  case $command in
    enable) touch "$state/$unit.enabled"; [ -z "$now" ] || touch "$state/$unit.active" ;;
    is-enabled) [ -f "$state/$unit.enabled" ] || exit 1 ;;
    is-active) [ -f "$state/$unit.active" ] || exit 3 ;;
    reload | try-reload-or-restart | reload-or-restart | restart)
      if [ "$unit" = ssh ]; then kill -HUP "$(cat /run/sshd.pid)"; fi ;;
  esac
done
exit 0
`;

const LAUNCHER = `set -eu
root=$1
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 run "$root/run"
mount -t tmpfs -o mode=1777 tmp "$root/tmp"
mount --rbind /sys "$root/sys"
ip link set lo up
hostname plc-prep-host
exec chroot "$root" /bin/sh -c 'mkdir -p /run/sshd /run/lock; /usr/sbin/sshd -E /var/log/sshd.log; trap "exit 0" TERM INT; while :; do sleep 3600 & wait $! || true; done'
`;

/** The cached rootfs tarball: Debian 12 minbase with sshd and sudo, as a cloud image has them. */
export function prepRootfs(): string {
  const key = createHash("sha256").update(`bookworm minbase ${PACKAGES}`).digest("hex").slice(0, 12);
  const tarball = join(ENGINE_CACHE, `prep-rootfs-${key}.tar`);
  return debianRootfs(tarball, [`--include=${PACKAGES}`]);
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export class PrepHost {
  readonly dir: string;
  readonly root: string;
  /** The client's key, ssh config and known_hosts. */
  readonly key: string;
  readonly config: string;
  private readonly launcher: ChildProcess;
  private pid = 0;

  private constructor(dir: string, launcher: ChildProcess) {
    this.dir = dir;
    this.root = join(dir, "root");
    this.key = join(dir, "client_ed25519");
    this.config = join(dir, "ssh_config");
    this.launcher = launcher;
  }

  static async start(): Promise<PrepHost> {
    const tarball = prepRootfs();
    const dir = mkdtempSync("/var/tmp/plc-prep-");
    chmodSync(dir, 0o755);
    const root = join(dir, "root");
    mkdirSync(root);
    run("tar", ["--numeric-owner", "-xpf", tarball, "-C", root]);
    // Nothing a package installs may start: no init system runs here.
    writeFileSync(join(root, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", { mode: 0o755 });
    writeFileSync(join(root, "usr/local/sbin/systemctl"), SYSTEMCTL, { mode: 0o755 });
    writeFileSync(join(root, "etc/hosts"), "127.0.0.1 localhost plc-prep-host\n");
    // A throwaway host: dpkg need not fsync every file it unpacks (minutes under load).
    writeFileSync(join(root, "etc/dpkg/dpkg.cfg.d/plc-test-unsafe-io"), "force-unsafe-io\n");
    const key = join(dir, "client_ed25519");
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "plc-prep-test", "-f", key]);
    mkdirSync(join(root, "root/.ssh"), { recursive: true, mode: 0o700 });
    writeFileSync(join(root, "root/.ssh/authorized_keys"), readFileSync(`${key}.pub`), { mode: 0o600 });
    const hostKey = readFileSync(join(root, "etc/ssh/ssh_host_ed25519_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    writeFileSync(join(dir, "known_hosts"), `127.0.0.1 ${hostKey}\n`);
    writeFileSync(
      join(dir, "ssh_config"),
      ["Host *", `  IdentityFile ${key}`, "  IdentitiesOnly yes", `  UserKnownHostsFile ${join(dir, "known_hosts")}`, "  GlobalKnownHostsFile /dev/null", "  ConnectTimeout 10", ""].join("\n"),
    );
    writeFileSync(join(dir, "launcher.sh"), LAUNCHER);
    const launcher = spawn("unshare", ["--mount", "--propagation", "private", "--pid", "--net", "--uts", "--fork", "sh", join(dir, "launcher.sh"), root], {
      env: { PATH },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const host = new PrepHost(dir, launcher);
    await host.waitForSshd();
    return host;
  }

  private async waitForSshd(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const unsharePid = this.launcher.pid ?? 0;
      const childrenFile = `/proc/${String(unsharePid)}/task/${String(unsharePid)}/children`;
      if (this.pid === 0 && existsSync(childrenFile)) this.pid = Number(readFileSync(childrenFile, "utf8").trim().split(/\s+/)[0] ?? 0);
      if (this.pid > 0 && this.sh("test -s /run/sshd.pid").status === 0) return;
      if (this.launcher.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`sshd did not start in the prep host: ${existsSync(join(this.root, "var/log/sshd.log")) ? readFileSync(join(this.root, "var/log/sshd.log"), "utf8") : ""}`);
  }

  /** A script inside the host (chrooted, its namespaces) as root. */
  sh(script: string, timeout = 300_000): RunResult {
    const result = spawnSync("nsenter", ["--target", String(this.pid), "--mount", "--pid", "--net", "--root", "--wd", "--", "/usr/bin/env", "-i", `PATH=${PATH}`, "/bin/sh", "-c", script], {
      encoding: "utf8",
      timeout,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  must(script: string): string {
    const result = this.sh(script);
    assert.equal(result.status, 0, `${script}\n${result.stdout}${result.stderr}`);
    return result.stdout;
  }

  read(path: string): string {
    return readFileSync(join(this.root, path), "utf8");
  }

  exists(path: string): boolean {
    return existsSync(join(this.root, path));
  }

  /** plc ARGS… from this machine, inside the host's network namespace (127.0.0.1 is the host). */
  plc(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn("nsenter", [`--net=/proc/${String(this.pid)}/ns/net`, "--", process.execPath, CLI, ...args], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", reject);
      child.on("close", (status) => {
        resolve({ status, stdout, stderr });
      });
    });
  }

  /** ssh ARGS… from inside the namespace with the client's config. */
  ssh(args: readonly string[]): RunResult {
    const result = spawnSync("nsenter", [`--net=/proc/${String(this.pid)}/ns/net`, "--", "ssh", "-F", this.config, "-o", "BatchMode=yes", ...args], { encoding: "utf8", timeout: 60_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  stop(): void {
    if (this.pid > 0) {
      try {
        process.kill(this.pid, "SIGKILL");
      } catch {
        // already gone
      }
      for (let i = 0; i < 100 && existsSync(`/proc/${String(this.pid)}`); i++) spawnSync("sleep", ["0.05"]);
      this.pid = 0;
    }
    if (this.launcher.exitCode === null) this.launcher.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
}
