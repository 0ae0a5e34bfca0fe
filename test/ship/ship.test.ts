// plc ship against a real sshd on 127.0.0.1: one connection per ship, verified, nothing left behind.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { sh } from "../../compiler/render/quote.js";
import { selfExtractingBundle } from "../../compiler/ship/self-extracting.js";
import { CLI } from "../fixtures.js";
import { withFileListedOnlyInSums, withSpecialEntries } from "../tamper.js";
import { requireTool } from "../tools.js";
import { buildInto, freePort, requireShipTools, runAsync, runPlc, SshClient, type RunResult, type SshHost } from "./sandbox.js";
import { watchArgv } from "../argv-watch.js";

const CUT_PROXY = fileURLToPath(new URL("./cut-proxy.js", import.meta.url));
// Quotes, a dollar and a space: it must reach the host intact and never appear in a command line.
const SECRET = `it's $ecret ${randomBytes(6).toString("hex")}`;

/** A `docker save`-shaped archive with an incompressible layer, so a transfer takes a while. */
function writeImageArchive(dir: string, megabytes: number, options: { name?: string; diffIds?: boolean } = {}): string {
  const name = options.name ?? "air";
  const staging = join(dir, `image-${name}`);
  mkdirSync(staging, { recursive: true });
  const layer = randomBytes(megabytes * 1024 * 1024);
  // With diff IDs (a real docker save has them), plc ship may send the image layer by layer.
  const rootfs = options.diffIds === true ? `,"rootfs":{"type":"layers","diff_ids":["sha256:${createHash("sha256").update(layer).digest("hex")}"]}` : "";
  writeFileSync(join(staging, "manifest.json"), '[{"Config":"config.json","RepoTags":["plc/air:1"],"Layers":["layer.tar"]}]\n');
  writeFileSync(join(staging, "config.json"), `{"config":{"Env":["PATH=/usr/bin"]}${rootfs}}\n`);
  writeFileSync(join(staging, "layer.tar"), layer);
  const archive = join(dir, `${name}.tar`);
  const tar = spawnSync("tar", ["-cf", archive, "-C", staging, "manifest.json", "config.json", "layer.tar"], { encoding: "utf8" });
  assert.equal(tar.status, 0, tar.stderr);
  return archive;
}

/** Waits until the host's /tmp holds nothing (the receiver cleans up after a cut on its own). */
async function tmpOf(host: SshHost): Promise<string[]> {
  let entries: string[] = [];
  for (let i = 0; i < 100; i++) {
    entries = readdirSync(host.path("/tmp"));
    if (entries.length === 0) return entries;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return entries;
}

const WATCHED = ["/home", "/etc/systemd/system", "/etc/logrotate.d", "/run/lock"];

function assertFailed(result: RunResult, pattern: RegExp): void {
  assert.equal(result.status, 1, `expected exit 1\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stderr, pattern);
}

test("plc ship to one host over a real sshd", { timeout: 150_000 }, async (t) => {
  if (!requireShipTools(t)) return;
  const client = new SshClient();
  t.after(() => {
    client.close();
  });
  const host = await client.startHost();
  const httpPort = await freePort();
  const target = `@127.0.0.1:${host.port}`;
  const ssh = ["-F", client.config];
  const spec = ["prefix=ybs", "instance=hack", "healthcheck_timeout=5", `host_port=${httpPort}`, `env.SECRET_KEY=${SECRET}`, "secret_env=SECRET_KEY"];
  const first = await buildInto(join(client.dir, "dist1"), ["image=nginx:1.27", ...spec]);

  await t.test("dry run prints the ssh command and sends nothing", async () => {
    const result = await runPlc(["ship", first, target, ...ssh, "--dry-run"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /nothing is sent/);
    assert.match(result.stdout, new RegExp(`ssh -T -F \\S+ -o StrictHostKeyChecking=yes .*-p ${host.port} -- 127\\.0\\.0\\.1 `));
    assert.doesNotMatch(result.stdout, / -l /, "no user on the command line when the target names none");
    assert.match(result.stdout, /secrets\.env \(SECRET_KEY; values not shown\)/);
    assert.ok(!result.stdout.includes(SECRET));
    assert.equal(host.connections(), 0);
  });

  await t.test("first deploy: one connection, secrets only in the stream, no temporary file left", async () => {
    const { value: result, leaks } = await watchArgv([SECRET], () => runPlc(["ship", first, target, ...ssh]));
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.deepEqual(leaks, [], "the secret appeared in a command line");
    assert.equal(host.connections(), 1);
    for (const phase of ["connecting", "ready root", "received", "verified", "installing", "done"]) {
      assert.match(result.stderr, new RegExp(`plc ship: 127\\.0\\.0\\.1:${host.port}: ${phase}`));
    }
    assert.match(result.stdout, /install\.sh: deployed release/, "the installer's output is streamed back");
    assert.ok(host.exists("/home/ybs-hack/current/install.sh"));
    assert.ok(host.read("/home/ybs-hack/.secrets.env").includes(SECRET.replace(/'/g, "'\\''")));
    assert.equal(host.read("/home/ybs-hack/docker-image").trim(), "nginx:1.27");
    assert.deepEqual(await tmpOf(host), []);
  });

  await t.test("redeploy, building first: plc ship @host vars…", async () => {
    const result = await runPlc(["ship", target, ...ssh, "image=nginx:1.28", ...spec]);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.equal(host.connections(), 2);
    assert.equal(host.read("/home/ybs-hack/docker-image").trim(), "nginx:1.28");
    assert.equal(readdirSync(host.path("/home/ybs-hack/releases")).length, 2);
    assert.deepEqual(await tmpOf(host), []);
  });

  const archive = writeImageArchive(client.dir, 3);
  const air = await buildInto(join(client.dir, "dist-air"), ["--image-archive", archive, "image=plc/air:1", ...spec]);

  await t.test("connection cut midway: nothing changed on the host, no temporary file left", async () => {
    const before = host.listing(WATCHED);
    const calls = host.calls().length;
    const proxy = `ProxyCommand=${process.execPath} ${CUT_PROXY} %h %p ${1024 * 1024}`;
    const result = await runPlc(["ship", air, target, ...ssh, "-o", proxy]);
    assertFailed(result, /connection was cut during the transfer .*nothing was installed/);
    assert.equal(host.connections(), 3);
    // The receiver had started: what it wrote before the cut is what must be gone.
    assert.equal(host.log().split("Starting session: command").length - 1, 3, host.log());
    assert.deepEqual(await tmpOf(host), []);
    assert.equal(host.listing(WATCHED), before);
    assert.equal(host.calls().length, calls, "no docker or systemctl call");
  });

  await t.test("air-gapped bundle: the image travels in the stream and is loaded, never pulled", async () => {
    const calls = host.calls().length;
    const result = await runPlc(["ship", air, target, ...ssh]);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.equal(host.connections(), 4);
    const made = host.calls().slice(calls);
    assert.ok(made.some((call) => /^docker 'load'/.test(call)), made.join("\n"));
    assert.ok(!made.some((call) => /^docker 'pull'/.test(call)), made.join("\n"));
    assert.equal(host.read("/home/ybs-hack/docker-image").trim(), "plc/air:1");
  });

  await t.test("air-gapped bundle with diff IDs: over the one connection the host lists its layers, then gets the image's files", async () => {
    const layered = await buildInto(join(client.dir, "dist-layered"), ["--image-archive", writeImageArchive(client.dir, 1, { name: "layered", diffIds: true }), "image=plc/air:1", ...spec]);
    const connections = host.connections();
    const calls = host.calls().length;
    const result = await runPlc(["ship", layered, target, ...ssh]);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.equal(host.connections(), connections + 1);
    // The shim lists no layer: all of them travel, as files of the archive beside the bundle.
    assert.match(result.stderr, /image layers: 1 of 1 sent/);
    assert.match(result.stdout, /loading the image from the parts plc ship sent/);
    const made = host.calls().slice(calls);
    assert.ok(made.some((call) => /^docker 'image' 'ls' '--all'/.test(call)), made.join("\n"));
    assert.ok(made.some((call) => /^docker 'load'$/.test(call)), made.join("\n"));
    assert.deepEqual(await tmpOf(host), []);
  });

  await t.test("wrong or unknown host key: refused before anything is sent, with how to accept it", async () => {
    const before = host.listing(WATCHED);
    const changed = await runPlc(["ship", first, target, ...ssh, "-o", `UserKnownHostsFile=${client.wrongKnownHosts()}`]);
    assertFailed(changed, /host key of \[127\.0\.0\.1\]:\d+ is not the one known_hosts holds/);
    assert.match(changed.stderr, /ssh-keygen -R/);
    const unknown = await runPlc(["ship", first, target, ...ssh, "-o", "UserKnownHostsFile=/dev/null"]);
    assertFailed(unknown, /host key of \[127\.0\.0\.1\]:\d+ is unknown/);
    assert.match(unknown.stderr, new RegExp(`ssh-keyscan -p ${host.port} 127\\.0\\.0\\.1 >> ~/\\.ssh/known_hosts`));
    assert.equal(host.listing(WATCHED), before);
  });

  await t.test("a user whose sudo needs a password gets a clear error; one with NOPASSWD deploys through sudo -n", async () => {
    const before = host.listing(WATCHED);
    const connections = host.connections();
    const refused = await runPlc(["ship", first, `visitor@127.0.0.1:${host.port}`, ...ssh]);
    assertFailed(refused, /sudo asks user visitor for a password/);
    assert.equal(host.connections(), connections + 1);
    assert.equal(host.listing(WATCHED), before);
    assert.deepEqual(await tmpOf(host), []);
    const result = await runPlc(["ship", first, `deployer@127.0.0.1:${host.port}`, ...ssh]);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.match(result.stderr, /ready sudo deployer/);
    assert.equal(host.read("/home/ybs-hack/docker-image").trim(), "nginx:1.27");
    assert.deepEqual(await tmpOf(host), []);
  });

  await t.test("self-extracting .run: checksum checked before unpacking, then it installs", () => {
    const tgz = readFileSync(first);
    const id = /-([0-9a-f]{12})\.tar\.gz$/.exec(first)?.[1] ?? "";
    const run = selfExtractingBundle({ tgz: function* () {
      yield tgz;
    }, id: id.padEnd(64, "0") }, "ybs-hack");
    const good = join(client.dir, "ybs-hack.run");
    writeFileSync(good, run, { mode: 0o755 });
    const tampered = Buffer.from(run);
    tampered[tampered.length - 100] = (tampered[tampered.length - 100] ?? 0) ^ 0xff;
    const bad = join(client.dir, "ybs-hack-tampered.run");
    writeFileSync(bad, tampered, { mode: 0o755 });
    const secrets = first.replace(/\.tar\.gz$/, ".secrets.env");
    const before = host.listing(WATCHED);
    const refused = host.sh(`sh '${bad}' --secrets '${secrets}'`);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /checksum mismatch/);
    assert.equal(host.listing(WATCHED), before);
    host.sh("rm -rf /home/ybs-hack");
    const installed = host.sh(`sh '${good}' --secrets '${secrets}'`);
    assert.equal(installed.status, 0, installed.stderr + installed.stdout);
    assert.match(installed.stdout, /deployed release/);
    assert.deepEqual(readdirSync(host.path("/tmp")), []);
  });

  await t.test("on a TTY a live bytes and rate line stands in for the sending phase; without one, a line per phase and no carriage return", async (tt) => {
    if (!requireTool(tt, "script")) return;
    const at = `plc ship: 127\\.0\\.0\\.1:${host.port}: `;
    const size = String.raw`[\d.]+ (?:B|KiB|MiB)`;
    // util-linux script gives plc a pty for stdin, stdout and stderr; -e passes plc's exit status on.
    const command = [process.execPath, CLI, "ship", first, target, ...ssh].map((word) => sh(word)).join(" ");
    const onTty = await runAsync("script", ["-qec", command, "/dev/null"]);
    assert.equal(onTty.status, 0, onTty.stdout + onTty.stderr);
    const live = onTty.stdout;
    assert.match(live, new RegExp(`\\r\\u001b\\[K127\\.0\\.0\\.1:${host.port}: sending ${size} / ${size}  ${size}/s`), JSON.stringify(live));
    // The last update counts every byte of the stream, then the line is wiped before the next phase prints.
    assert.match(live, new RegExp(`: sending (${size}) / \\1  ${size}/s\\r\\u001b\\[K${at}sent `), JSON.stringify(live));
    assert.doesNotMatch(live, new RegExp(`${at}sending`), "the live line replaces the sending phase");
    for (const phase of ["connecting", "ready root", "received", "verified", "installing", "done"]) assert.match(live, new RegExp(`${at}${phase}`));
    assert.match(live, /install\.sh: deployed release/);

    const piped = await runPlc(["ship", first, target, ...ssh]);
    assert.equal(piped.status, 0, piped.stderr + piped.stdout);
    for (const phase of ["connecting", "sending", "sent", "ready", "received", "verified", "installing", "done"]) {
      const lines = piped.stderr.split("\n").filter((line) => new RegExp(`^${at}${phase}( |$)`).test(line));
      assert.equal(lines.length, 1, `one ${phase} line in\n${piped.stderr}`);
    }
    assert.ok(!piped.stderr.includes("\r") && !piped.stdout.includes("\r"), "no carriage return without a TTY");
    assert.doesNotMatch(piped.stderr, /\/s\b/, "no rate without a TTY");
  });

  await t.test("a tampered BUNDLE fails plc verify locally: exit 1, named, no connection", async () => {
    const connections = host.connections();
    const before = host.listing(WATCHED);
    const secretsOnlyInSums = join(client.dir, "tampered-secrets.tar.gz");
    writeFileSync(secretsOnlyInSums, withFileListedOnlyInSums(readFileSync(first), "ybs-hack", "secrets.env", "X=1\nid >/root/PWNED\n"));
    const special = join(client.dir, "tampered-devices.tar.gz");
    writeFileSync(special, withSpecialEntries(readFileSync(first), [
      { path: "ybs-hack/logrotate/zero", type: "CharacterDevice", mode: 0o666, uid: 0, gid: 0, content: Buffer.alloc(0), devmaj: 1, devmin: 5 },
    ]));
    for (const [bundle, why] of [[secretsOnlyInSums, /secrets\.env is not in MANIFEST\.json/], [special, /logrotate\/zero: a CharacterDevice has no place in a bundle/]] as const) {
      const result = await runPlc(["ship", bundle, target, ...ssh]);
      assertFailed(result, why);
      assert.match(result.stderr, /fails plc verify; nothing was sent/);
    }
    assert.equal(host.connections(), connections, "ship connected for a bundle that fails verify");
    assert.equal(host.listing(WATCHED), before);
  });

  await t.test("a host whose ssh exits 0 without the receiver's installed report is a failure (command=\"true\")", async () => {
    const authorized = join(host.dir, "authorized_keys");
    const keys = readFileSync(authorized, "utf8");
    writeFileSync(authorized, `command="true" ${keys}`);
    try {
      const before = host.listing(WATCHED);
      const result = await runPlc(["ship", first, target, ...ssh]);
      assertFailed(result, /ssh exited 0 but the host never reported an install/);
      assert.doesNotMatch(result.stderr, /deployed ybs-hack/);
      assert.equal(host.listing(WATCHED), before);
    } finally {
      writeFileSync(authorized, keys);
    }
  });

  await t.test("an inventory ansible_host or ansible_user starting with '-' is bad input, located; ssh is never run", async () => {
    const connections = host.connections();
    for (const [vars, pattern] of [
      ["ansible_host: \"-V\"", /host web1: '-V' is not an ssh address[\s\S]*inventory\.yml:6:25/],
      [`ansible_host: 127.0.0.1\n          ansible_user: "-oProxyCommand=touch /tmp/x"`, /host web1: '-oProxyCommand=touch \/tmp\/x' is not an ssh login name[\s\S]*inventory\.yml:7:25/],
    ] as const) {
      const inventory = join(client.dir, `inventory-${connections}-${vars.length}`);
      mkdirSync(inventory, { recursive: true });
      writeFileSync(join(inventory, "inventory.yml"), `all:\n  children:\n    ybs-hack:\n      hosts:\n        web1:\n          ${vars}\n`);
      const result = await runPlc(["ship", first, "-i", inventory, ...ssh]);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, pattern);
    }
    assert.equal(host.connections(), connections);
  });
});
