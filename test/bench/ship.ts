// Bench: plc ship to a sandbox host (test/ship/sandbox.ts, sshd on 127.0.0.1), beside `ssh host true`
// measured in the same run against the same sshd: on loopback, then through a proxy that holds every
// chunk 25 ms each way (50 ms RTT), where an Ansible-style peer (the same host steps as 25 separate ssh
// commands) runs too. Also the install's own time, from the receiver's phases, and peak RSS with a 1 GB
// image archive. Needs root (namespaces).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CLI } from "../fixtures.js";
import { writeLayer } from "./layer-file.js";
import { freePort, SshClient } from "../ship/sandbox.js";
import { startDelayProxy } from "./proxy.js";

export interface ShipBench {
  runs: number;
  bundleBytes: number;
  loopback: { sshTrueMs: number; shipMs: number; shipConnections: number };
  /** Through the 25 ms-each-way proxy. */
  latency: { sshTrueMs: number; shipMs: number; installMs: number; peerMs: number; peerCommands: number };
  /** Peak RSS of plc build --image-archive and plc ship with a 1 GiB archive, in MiB. */
  rss?: { archiveMiB: number; buildMiB: number; shipMiB: number; plainBuildMiB: number; buildMs: number; shipMs: number; shipFailure: string | undefined };
  rssError?: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

interface Timed {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** When each stderr line arrived, ms from the start. */
  lines: { at: number; text: string }[];
  maxRssMiB: number | undefined;
}

/** Runs a program, optionally feeding a file on stdin; stderr lines are timestamped as they arrive. */
function timed(command: string, args: readonly string[], stdinFile?: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const stdin = stdinFile === undefined ? "ignore" : openSync(stdinFile, "r");
    const child = spawn(command, args, { stdio: [stdin, "pipe", "pipe"] });
    if (typeof stdin === "number") closeSync(stdin);
    let stdout = "";
    let stderr = "";
    let partial = "";
    const lines: Timed["lines"] = [];
    const { stdout: out, stderr: err } = child;
    if (out === null || err === null) throw new Error("no pipes");
    out.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    err.on("data", (chunk: Buffer) => {
      const at = performance.now() - started;
      stderr += chunk.toString();
      partial += chunk.toString();
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      for (const text of parts) lines.push({ at, text });
    });
    child.on("error", reject);
    child.on("close", (status) => {
      resolve({ status, stdout, stderr, ms: performance.now() - started, lines, maxRssMiB: undefined });
    });
  });
}

/** plc as a process whose own peak RSS it writes at exit (process.resourceUsage, no GNU time needed). */
async function plcWithRss(args: readonly string[], dir: string): Promise<Timed> {
  const file = join(dir, `rss-${String(Math.random()).slice(2)}`);
  const hook = `data:text/javascript,import{writeFileSync}from"node:fs";process.on("exit",()=>writeFileSync(${JSON.stringify(file)},String(process.resourceUsage().maxRSS)))`;
  const result = await timed(process.execPath, ["--import", hook, CLI, ...args]);
  result.maxRssMiB = Number(readFileSync(file, "utf8")) / 1024;
  return result;
}

function must(result: Timed, what: string): Timed {
  if (result.status !== 0) throw new Error(`${what} failed (${String(result.status)}): ${result.stderr.slice(-2000)}`);
  return result;
}

/**
 * The host steps plc's receiver and install.sh take, as a task-per-connection tool runs them: one ssh
 * command each (check tools, upload, verify, unpack, install, then the checks such a playbook makes).
 */
function peerSteps(root: string, sha256: string): { command: string; upload?: boolean }[] {
  const dir = "/var/tmp/plc-peer";
  const home = `/home/${root}`;
  return [
    { command: "true" },
    { command: "id -u" },
    { command: "command -v tar gzip sha256sum mktemp" },
    { command: `rm -rf ${dir} && mkdir -p ${dir}` },
    { command: `cat >${dir}/bundle.tar.gz`, upload: true },
    { command: `printf '%s  %s\\n' ${sha256} ${dir}/bundle.tar.gz | sha256sum -c --strict --quiet` },
    { command: `tar -tvzf ${dir}/bundle.tar.gz >/dev/null` },
    { command: `mkdir ${dir}/bundle` },
    { command: `tar -xzf ${dir}/bundle.tar.gz -C ${dir}/bundle --no-same-owner --no-same-permissions` },
    { command: `rm -f ${dir}/bundle.tar.gz` },
    { command: `test "$(ls -A ${dir}/bundle)" = ${root}` },
    { command: `test -z "$(find ${dir}/bundle ! -type f ! -type d)"` },
    { command: `test -z "$(find ${dir}/bundle -type f -links +1)"` },
    { command: `test -f ${dir}/bundle/${root}/install.sh` },
    { command: `sh ${dir}/bundle/${root}/install.sh </dev/null >/dev/null` },
    { command: `test -d ${home}` },
    { command: `ls ${home} >/dev/null` },
    { command: `cat ${home}/docker-image >/dev/null 2>&1 || true` },
    { command: "docker ps >/dev/null 2>&1 || true" },
    { command: `systemctl is-enabled backup-${root}.timer >/dev/null 2>&1 || true` },
    { command: `systemctl is-enabled prune-${root}.timer >/dev/null 2>&1 || true` },
    { command: "test -d /etc/logrotate.d || true" },
    { command: "test -d /etc/nginx || true" },
    { command: "df -P /var >/dev/null" },
    { command: `rm -rf ${dir}` },
  ];
}

/**
 * A docker-save archive of local/app:big whose one layer is `size` bytes, random and zero MiB by turns:
 * it compresses about 2x, as image layers do (all zeros would pass plc's decompression-ratio guard).
 */
function writeBigArchive(dir: string, size: number): string {
  const src = join(dir, "big-src");
  mkdirSync(join(src, "blobs", "sha256"), { recursive: true });
  const layer = join(src, "blobs", "sha256", "layer");
  const digest = writeLayer(layer, size);
  renameSync(layer, join(src, "blobs", "sha256", digest));
  writeFileSync(join(src, "config.json"), JSON.stringify({ config: { Env: ["PLAYLABS_PLUGINS="] } }));
  writeFileSync(join(src, "manifest.json"), JSON.stringify([{ Config: "config.json", RepoTags: ["local/app:big"], Layers: [`blobs/sha256/${digest}`] }]));
  return join(dir, "big.tar");
}

async function tarArchive(dir: string, archive: string): Promise<void> {
  must(await timed("tar", ["-cf", archive, "-C", join(dir, "big-src"), "manifest.json", "config.json", "blobs"]), "tar");
  rmSync(join(dir, "big-src"), { recursive: true, force: true });
}

/** Peak RSS of plc build --image-archive and plc ship with an archive of `size` bytes, beside a build without. */
async function benchRss(client: SshClient, address: string, port: number, size: number): Promise<NonNullable<ShipBench["rss"]>> {
  const archive = writeBigArchive(client.dir, size);
  await tarArchive(client.dir, archive);
  // A port of its own: ybs-bench still listens on the first one, and a second instance on it fails
  // its install (the container cannot bind it), which is what the 1 GiB ship once ended with.
  const httpPort = await freePort();
  const args = ["image=local/app:big", "prefix=ybs", "instance=big", "healthcheck_timeout=5", `host_port=${httpPort}`];
  const plain = must(await plcWithRss(["build", "-o", join(client.dir, "plain"), ...args], client.dir), "plc build (plain)");
  const bigBuild = must(await plcWithRss(["build", "-o", join(client.dir, "big"), "--image-archive", archive, ...args], client.dir), "plc build --image-archive");
  rmSync(archive, { force: true });
  const bigBundle = bigBuild.stdout.split("\n").find((line) => line.endsWith(".tar.gz")) ?? "";
  const bigShip = await plcWithRss(["ship", bigBundle, `@${address}:${port}`, "-F", client.config], client.dir);
  return {
    archiveMiB: Math.round(size / 1024 / 1024),
    plainBuildMiB: Math.round(plain.maxRssMiB ?? 0),
    buildMiB: Math.round(bigBuild.maxRssMiB ?? 0),
    shipMiB: Math.round(bigShip.maxRssMiB ?? 0),
    buildMs: Math.round(bigBuild.ms),
    shipMs: Math.round(bigShip.ms),
    // The RSS is plc's whatever the host made of the bundle; a failure is shown, not hidden.
    shipFailure: bigShip.status === 0 ? undefined : bigShip.stderr.trim().split("\n").slice(-6).join(" | "),
  };
}

/** Starts a sandbox host and measures; `rssArchiveBytes` 0 skips the 1 GiB archive. */
export async function benchShip(runs = 5, rssArchiveBytes = 1024 * 1024 * 1024): Promise<ShipBench> {
  const client = new SshClient();
  try {
    const host = await client.startHost();
    const httpPort = await freePort();
    const dist = join(client.dir, "dist");
    mkdirSync(dist);
    const built = must(await timed(process.execPath, [CLI, "build", "-o", dist, "image=nginx:1.27", "prefix=ybs", "instance=bench", "healthcheck_timeout=5", `host_port=${httpPort}`]), "plc build");
    const bundle = built.stdout.split("\n").find((line) => line.endsWith(".tar.gz")) ?? "";
    const bundleBytes = statSync(bundle).size;
    const sha256 = createHash("sha256").update(readFileSync(bundle)).digest("hex");

    const ssh = (port: number, command: string, stdinFile?: string): Promise<Timed> =>
      timed("ssh", ["-F", client.config, "-p", String(port), "-o", `HostKeyAlias=${host.keyName}`, host.address, command], stdinFile);
    const ship = (port: number): Promise<Timed> =>
      timed(process.execPath, [CLI, "ship", bundle, `@${host.address}:${port}`, "-F", client.config, "-o", `HostKeyAlias=${host.keyName}`]);

    // Loopback.
    const sshTrue: number[] = [];
    for (let i = 0; i < runs; i++) sshTrue.push(must(await ssh(host.port, "true"), "ssh true").ms);
    const afterSsh = host.connections();
    const shipTimes: number[] = [];
    for (let i = 0; i < runs; i++) shipTimes.push(must(await ship(host.port), "plc ship").ms);
    const loopback = { sshTrueMs: Math.round(median(sshTrue)), shipMs: Math.round(median(shipTimes)), shipConnections: (host.connections() - afterSsh) / runs };

    // 50 ms RTT, measured pair by pair in the same run.
    const proxy = await startDelayProxy(host.port, 25);
    const latency = { sshTrueMs: 0, shipMs: 0, installMs: 0, peerMs: 0, peerCommands: 0 };
    try {
      const slowSsh: number[] = [];
      const slowShip: number[] = [];
      const install: number[] = [];
      const peer: number[] = [];
      const steps = peerSteps("ybs-bench", sha256);
      for (let i = 0; i < runs; i++) {
        slowSsh.push(must(await ssh(proxy.port, "true"), "ssh true (proxy)").ms);
        const shipped = must(await ship(proxy.port), "plc ship (proxy)");
        slowShip.push(shipped.ms);
        // The receiver reports `installing` before install.sh starts; plc ends when it has ended.
        const installing = shipped.lines.find((line) => /: installing\b/.test(line.text));
        if (installing !== undefined) install.push(shipped.ms - installing.at);
        const started = performance.now();
        for (const step of steps) must(await ssh(proxy.port, step.command, step.upload === true ? bundle : undefined), `peer: ${step.command}`);
        peer.push(performance.now() - started);
      }
      latency.sshTrueMs = Math.round(median(slowSsh));
      latency.shipMs = Math.round(median(slowShip));
      latency.installMs = Math.round(median(install));
      latency.peerMs = Math.round(median(peer));
      latency.peerCommands = steps.length;
    } finally {
      await proxy.close();
    }

    const result: ShipBench = { runs, bundleBytes, loopback, latency };
    if (rssArchiveBytes > 0) {
      try {
        result.rss = await benchRss(client, host.address, host.port, rssArchiveBytes);
      } catch (error) {
        result.rssError = (error as Error).message.split("\n")[0] ?? "";
      }
    }
    return result;
  } finally {
    client.close();
  }
}
