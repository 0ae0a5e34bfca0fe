// Hosts reached over real ssh: OpenSSH's sshd in a private mount and pid namespace (tmpfs over every
// place install.sh writes, the sandbox's docker and systemctl shims first on PATH), on 127.0.0.1 or
// in its own network namespace behind a veth pair. The other end of each pair is in the client's own
// network namespace, never the machine's: commands that reach such hosts run there (`client.run`).
// Killing the namespace's pid 1 ends everything.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { CLI, ROOT } from "../fixtures.js";
import { isRoot, requireTool } from "../tools.js";

const SHIMS = join(ROOT, "test", "host", "shims");
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Root and the tools the ssh hosts need; in CI a missing one fails the test. */
export function requireShipTools(t: TestContext): boolean {
  if (!isRoot()) {
    if (process.env["CI"] !== undefined) assert.fail("the ship tests need root (unshare, ip netns)");
    t.skip("the ship tests need root (unshare, ip netns)");
    return false;
  }
  return requireTool(t, "ssh", "ssh-keygen", "sshd", "unshare", "nsenter", "ip", "sudo", "busybox", "flock", "curl", "sha256sum");
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program and returns its status and output; rejects only if it cannot start. */
export function runAsync(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
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

/** `plc ARGS…` from the built CLI. */
export function runPlc(args: readonly string[]): Promise<RunResult> {
  return runAsync(process.execPath, [CLI, ...args]);
}

/** plc build into dir; the tarball's path. */
export async function buildInto(dir: string, args: string[]): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const result = await runPlc(["build", "-o", dir, ...args]);
  assert.equal(result.status, 0, result.stderr);
  const tarball = result.stdout.split("\n").find((line) => line.endsWith(".tar.gz"));
  assert.ok(tarball !== undefined, result.stdout);
  return tarball;
}

function must(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

let lastNetwork = 0;

/**
 * Distinct 10.231.N.0/30 networks. They exist only inside namespaces this process makes (the client's
 * and its hosts'), so they need not be free on the machine: only distinct within one run.
 */
export function freeNetworks(count: number): number[] {
  const networks: number[] = [];
  for (let i = 0; i < count; i++) {
    lastNetwork = (lastNetwork % 250) + 1;
    networks.push(lastNetwork);
  }
  return networks;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** The client side: a key, an ssh config file (-F) and the known_hosts it names. */
export class SshClient {
  readonly dir: string;
  readonly config: string;
  readonly knownHosts: string;
  /** The private key the hosts authorize. */
  readonly identityFile: string;
  readonly publicKey: string;
  private readonly hosts: SshHost[] = [];
  /** The client's network namespace, made with its first host in a namespace of its own. */
  private netns: string | undefined;

  constructor() {
    // Not under /tmp: the hosts put their own tmpfs over /tmp and must still read this directory.
    this.dir = mkdtempSync("/var/tmp/plc-ship-");
    chmodSync(this.dir, 0o755);
    const key = join(this.dir, "client_ed25519");
    this.identityFile = key;
    must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "plc-ship-test", "-f", key]);
    this.publicKey = readFileSync(`${key}.pub`, "utf8");
    this.knownHosts = join(this.dir, "known_hosts");
    writeFileSync(this.knownHosts, "");
    this.config = join(this.dir, "ssh_config");
    // User root here, so plc passing no user lets the config's User apply, as it must.
    writeFileSync(
      this.config,
      [
        "Host *",
        "  User root",
        `  IdentityFile ${key}`,
        "  IdentitiesOnly yes",
        `  UserKnownHostsFile ${this.knownHosts}`,
        "  GlobalKnownHostsFile /dev/null",
        "  ConnectTimeout 10",
        "",
      ].join("\n"),
    );
  }

  /** A known_hosts file with another key for each host: what a reinstalled or spoofed host looks like. */
  wrongKnownHosts(): string {
    const key = join(this.dir, "other_host_key");
    if (!existsSync(key)) must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    const other = readFileSync(`${key}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
    const file = join(this.dir, "known_hosts.wrong");
    writeFileSync(file, this.hosts.map((host) => `${host.keyName} ${other}\n`).join(""));
    return file;
  }

  /**
   * The client's own network namespace (loopback up), where the outer ends of the hosts' links live.
   * Commands that reach hosts started with a network run in it (see run).
   */
  clientNamespace(): string {
    if (this.netns === undefined) {
      const netns = `plcclient-${randomBytes(3).toString("hex")}`;
      must("ip", ["netns", "add", netns]);
      this.netns = netns;
      must("ip", ["-n", netns, "link", "set", "lo", "up"]);
    }
    return this.netns;
  }

  /** Runs a program where the hosts are reachable: in the client's namespace once it has one. */
  run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
    return this.netns === undefined ? runAsync(command, args, env) : runAsync("ip", ["netns", "exec", this.netns, command, ...args], env);
  }

  /** `plc ARGS…` from the built CLI, where the hosts are reachable. */
  plc(args: readonly string[]): Promise<RunResult> {
    return this.run(process.execPath, [CLI, ...args]);
  }

  /** Starts a host; with `network`, in its own network namespace at 10.231.<network>.2. */
  async startHost(options: { network?: number } = {}): Promise<SshHost> {
    const host = await SshHost.start(this, options.network);
    this.hosts.push(host);
    writeFileSync(this.knownHosts, this.hosts.map((one) => `${one.keyName} ${one.hostKey}\n`).join(""));
    return host;
  }

  /** Stops every host and removes every file; safe to call twice. */
  close(): void {
    for (const host of this.hosts.splice(0)) host.stop();
    if (this.netns !== undefined) {
      // Deleting the namespace deletes the outer ends of the hosts' links with it.
      spawnSync("ip", ["netns", "del", this.netns]);
      this.netns = undefined;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const LAUNCHER = `set -eu
dir=$1
# Pid 1 of the host: private tmpfs over every place the installer or the receiver writes.
for path in /home /tmp /run /etc/systemd/system /etc/logrotate.d /etc/nginx/sites-enabled /usr/local/sbin /etc/sudoers.d /root; do
  if [ -d "$path" ]; then mount -t tmpfs -o mode=0755 plc-ship "$path"; fi
done
chmod 1777 /tmp
chmod 0700 /root
mkdir -p /run/lock /run/sshd
chmod 1777 /run/lock
# Two users of the host only: deployer may sudo without a password, visitor may not.
for file in passwd group shadow; do
  cp "/etc/$file" "$dir/$file"
  mount --bind "$dir/$file" "/etc/$file"
done
printf 'deployer:x:4201:4201::/home/deployer:/bin/sh\\nvisitor:x:4202:4202::/home/visitor:/bin/sh\\n' >>/etc/passwd
printf 'deployer:x:4201:\\nvisitor:x:4202:\\n' >>/etc/group
printf 'deployer:*:19000:0:99999:7:::\\nvisitor:*:19000:0:99999:7:::\\n' >>/etc/shadow
for user in deployer visitor; do
  mkdir -m 0700 "/home/$user"
  chown "$user:$user" "/home/$user"
done
if [ -d /etc/sudoers.d ]; then
  printf 'deployer ALL=(root) NOPASSWD: ALL\\n' >/etc/sudoers.d/plc-ship-test
  chmod 0440 /etc/sudoers.d/plc-ship-test
fi
# The shims lead PATH (install.sh puts /usr/local/sbin first; sudo's secure_path too); their state
# directory is fixed here because neither sshd nor sudo passes the caller's environment on.
for shim in "$dir"/shims/*; do
  tool=\${shim##*/}
  printf '#!/bin/sh\\nPLC_SHIM_STATE=%s\\nexport PLC_SHIM_STATE\\nexec %s "$@"\\n' "$dir/state" "$shim" >"/usr/local/sbin/$tool"
  chmod 0755 "/usr/local/sbin/$tool"
done
ip link set lo up 2>/dev/null || true
/usr/sbin/sshd -D -e -f "$dir/sshd_config" 2>>"$dir/sshd.log" &
# Pid 1 reaps what the shims leave running (busybox httpd standing in for a container).
trap 'exit 0' TERM INT
while :; do
  sleep 3600 &
  wait $! || true
done
`;

export class SshHost {
  /** Address and port ssh connects to. */
  readonly address: string;
  readonly port: number;
  /** `[address]:port` as known_hosts names it. */
  readonly keyName: string;
  readonly hostKey: string;
  readonly dir: string;
  private readonly launcher: ChildProcess;
  private readonly netns: string | undefined;
  private pid = 0;
  /** Extra links from this host's namespace (see routeTo); they go with the namespaces. */
  private links = 0;

  private constructor(dir: string, address: string, port: number, hostKey: string, launcher: ChildProcess, netns: string | undefined) {
    this.dir = dir;
    this.address = address;
    this.port = port;
    this.keyName = port === 22 ? address : `[${address}]:${port}`;
    this.hostKey = hostKey;
    this.launcher = launcher;
    this.netns = netns;
  }

  static async start(client: SshClient, network: number | undefined): Promise<SshHost> {
    const dir = mkdtempSync(join(client.dir, "host-"));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "state"));
    mkdirSync(join(dir, "shims"));
    for (const tool of ["docker", "systemctl"]) {
      writeFileSync(join(dir, "shims", tool), readFileSync(join(SHIMS, tool)), { mode: 0o755 });
    }
    const hostKeyFile = join(dir, "host_ed25519");
    must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKeyFile]);
    const hostKey = readFileSync(`${hostKeyFile}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
    const authorized = join(dir, "authorized_keys");
    writeFileSync(authorized, client.publicKey, { mode: 0o644 });
    chmodSync(authorized, 0o644);

    let netns: string | undefined;
    let address = "127.0.0.1";
    let port = 22;
    if (network === undefined) {
      port = await freePort();
    } else {
      // 10.231.<network>.0/30 between the client's namespace (.1) and the host's (.2).
      const clientNetns = client.clientNamespace();
      netns = `plcship-${randomBytes(3).toString("hex")}`;
      const outside = `host${network}`;
      address = `10.231.${network}.2`;
      must("ip", ["netns", "add", netns]);
      must("ip", ["-n", clientNetns, "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", netns]);
      must("ip", ["-n", clientNetns, "addr", "add", `10.231.${network}.1/30`, "dev", outside]);
      must("ip", ["-n", clientNetns, "link", "set", outside, "up"]);
      must("ip", ["-n", netns, "addr", "add", `${address}/30`, "dev", "eth0"]);
      must("ip", ["-n", netns, "link", "set", "eth0", "up"]);
      must("ip", ["-n", netns, "link", "set", "lo", "up"]);
    }
    writeFileSync(
      join(dir, "sshd_config"),
      [
        `ListenAddress ${address}:${port}`,
        `HostKey ${hostKeyFile}`,
        "PidFile none",
        `AuthorizedKeysFile ${authorized}`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    writeFileSync(join(dir, "launcher.sh"), LAUNCHER);
    const log = openSync(join(dir, "launcher.log"), "a");
    const unshare = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "sh", join(dir, "launcher.sh"), dir];
    const [command = "", ...args] = netns === undefined ? unshare : ["ip", "netns", "exec", netns, ...unshare];
    const launcher = spawn(command, args, { env: { PATH }, stdio: ["ignore", log, log] });
    const host = new SshHost(dir, address, port, hostKey, launcher, netns);
    try {
      await host.waitUntilListening();
    } catch (error) {
      host.stop();
      throw error;
    }
    return host;
  }

  private async waitUntilListening(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (this.log().includes("Server listening on")) {
        const unsharePid = this.launcher.pid ?? 0;
        const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8").trim();
        this.pid = Number(children.split(/\s+/)[0]);
        return;
      }
      if (this.launcher.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`sshd did not start: ${this.log()}${readFileSync(join(this.dir, "launcher.log"), "utf8")}`);
  }

  /**
   * A bastion's path: a veth pair from this host's network namespace to `other`'s on 10.231.<network>.0/30
   * (this side .1, theirs .2) and a route over it to `other`'s address. With `isOnlyWay`, `other` loses its
   * route back to the client, so only what comes through this host reaches it. Returns this host's
   * address on the link: where `other`'s sshd sees such connections come from.
   */
  routeTo(other: SshHost, network: number, options: { isOnlyWay?: boolean } = {}): string {
    const here = this.netns;
    const there = other.netns;
    if (here === undefined || there === undefined) throw new Error("routeTo links hosts started with a network");
    const name = `plcjump${this.links++}`;
    const address = `10.231.${network}.1`;
    must("ip", ["-n", here, "link", "add", name, "type", "veth", "peer", "name", name, "netns", there]);
    must("ip", ["-n", here, "addr", "add", `${address}/30`, "dev", name]);
    must("ip", ["-n", there, "addr", "add", `10.231.${network}.2/30`, "dev", name]);
    must("ip", ["-n", here, "link", "set", name, "up"]);
    must("ip", ["-n", there, "link", "set", name, "up"]);
    must("ip", ["-n", here, "route", "add", `${other.address}/32`, "via", `10.231.${network}.2`]);
    if (options.isOnlyWay === true) {
      const outside = other.address.replace(/\.2$/, ".0/30");
      must("ip", ["-n", there, "route", "del", outside, "dev", "eth0"]);
    }
    return address;
  }

  log(): string {
    const file = join(this.dir, "sshd.log");
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  }

  /** Connections sshd accepted so far (LogLevel VERBOSE logs one "Connection from" line each). */
  connections(): number {
    return this.log().split("\n").filter((line) => /Connection from \S+ port \d+ on /.test(line)).length;
  }

  /** A host path as seen from outside, through pid 1's root (tmpfs contents included). */
  path(path: string): string {
    return `/proc/${this.pid}/root${path}`;
  }

  exists(path: string): boolean {
    return existsSync(this.path(path));
  }

  read(path: string): string {
    return readFileSync(this.path(path), "utf8");
  }

  /** Runs a script inside the host's namespaces as root. */
  sh(script: string): RunResult {
    const result = spawnSync("nsenter", ["--target", String(this.pid), "--mount", "--pid", "--net", "--", "env", "-i", `PATH=${PATH}`, "sh", "-c", script], {
      encoding: "utf8",
      timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /** Every shim call so far (docker, systemctl), one per line. */
  calls(): string[] {
    const file = join(this.dir, "state", "calls.log");
    return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((line) => line !== "") : [];
  }

  /** Files and links under the roots, with sizes: what "nothing changed" compares. */
  listing(roots: readonly string[]): string {
    const result = this.sh(`for root in ${roots.join(" ")}; do [ -e "$root" ] && find "$root" -printf '%p %y %m %s %l\\n'; done | sort`);
    return result.stdout;
  }

  stop(): void {
    if (this.pid > 0) {
      try {
        process.kill(this.pid, "SIGKILL");
      } catch {
        // already gone
      }
      for (let i = 0; i < 100 && existsSync(`/proc/${this.pid}`); i++) spawnSync("sleep", ["0.05"]);
      this.pid = 0;
    }
    if (this.launcher.exitCode === null) this.launcher.kill("SIGKILL");
    if (this.netns !== undefined) {
      // Deleting the namespace deletes the veth pair with it.
      spawnSync("ip", ["netns", "del", this.netns]);
    }
  }
}
