// plc diff against a real sshd: one connection, the installed manifest read (through sudo -n when not
// root), differences printed, and nothing on the host changed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { buildInto, freePort, requireShipTools, runPlc, SshClient } from "./sandbox.js";

const WATCHED = ["/home", "/etc/systemd/system", "/etc/logrotate.d", "/etc/nginx/sites-enabled", "/run/lock"];


test("plc diff against a host over a real sshd", { timeout: 150_000 }, async (t) => {
  if (!requireShipTools(t)) return;
  const client = new SshClient();
  t.after(() => {
    client.close();
  });
  const host = await client.startHost();
  const target = `@127.0.0.1:${host.port}`;
  const ssh = ["-F", client.config];
  const spec = ["prefix=ybs", "instance=hack", "healthcheck_timeout=5", `host_port=${await freePort()}`];
  const first = await buildInto(join(client.dir, "dist1"), ["image=nginx:1.27", ...spec]);
  const second = await buildInto(join(client.dir, "dist2"), ["image=nginx:1.28", "env.SECRET_KEY=x", "secret_env=SECRET_KEY", "dns=hack.example.com", ...spec]);

  await t.test("no release installed: a clear error, exit 1, one connection", async () => {
    const result = await runPlc(["diff", first, target, ...ssh]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /error\[diff-remote-error\]: 127\.0\.0\.1:\d+: no release is installed in \/home\/ybs-hack/);
    assert.equal(result.stdout, "");
    assert.equal(host.connections(), 1);
  });

  const shipped = await runPlc(["ship", first, target, ...ssh]);
  assert.equal(shipped.status, 0, shipped.stderr + shipped.stdout);

  await t.test("the installed bundle: exit 0, nothing changed on the host", async () => {
    const before = host.listing(WATCHED);
    const calls = host.calls().length;
    const connections = host.connections();
    const result = await runPlc(["diff", first, target, ...ssh]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^ybs-hack on 127\.0\.0\.1:\d+: release [0-9a-f]{12} is installed; the bundle is the same/);
    assert.equal(host.connections(), connections + 1);
    assert.equal(host.listing(WATCHED), before);
    assert.equal(host.calls().length, calls, "no docker or systemctl call");
  });

  await t.test("another bundle: values and files that would change, exit 1, nothing deployed", async () => {
    const before = host.listing(WATCHED);
    const result = await runPlc(["diff", second, target, ...ssh]);
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stderr, "", "a difference is an answer, not an error");
    assert.match(result.stdout, /^ {2}image +nginx:1\.27 -> nginx:1\.28$/m);
    assert.match(result.stdout, /^ {2}inputsDigest +[0-9a-f]{64} -> [0-9a-f]{64}$/m);
    assert.match(result.stdout, /^ {2}secrets +\+SECRET_KEY$/m);
    assert.match(result.stdout, /^ {2}modified +install\.sh$/m);
    assert.match(result.stdout, /^ {2}modified +secrets\.keys$/m);
    assert.match(result.stdout, /^ {2}added +nginx\/hack\.example\.com\.conf$/m);
    assert.doesNotMatch(result.stdout, /logrotate/, "unchanged files are not listed");
    assert.equal(host.listing(WATCHED), before);
    assert.equal(host.read("/home/ybs-hack/docker-image").trim(), "nginx:1.27");
  });

  await t.test("a user with sudo NOPASSWD reads through sudo -n; one without gets told why", async () => {
    const result = await runPlc(["diff", first, `deployer@127.0.0.1:${host.port}`, ...ssh]);
    assert.equal(result.status, 0, result.stderr);
    const refused = await runPlc(["diff", first, `visitor@127.0.0.1:${host.port}`, ...ssh]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /sudo asks user visitor for a password/);
  });

  await t.test("unknown host key: refused by ssh, explained as for plc ship", async () => {
    const result = await runPlc(["diff", first, target, ...ssh, "-o", "UserKnownHostsFile=/dev/null"]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /error\[host-key-unknown\]: .*host key of \[127\.0\.0\.1\]:\d+ is unknown/);
  });

  await t.test("bad input exits 2 before connecting", async () => {
    const connections = host.connections();
    const missing = await runPlc(["diff", join(client.dir, "nope.tar.gz"), target, ...ssh]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /is not a plc bundle: no such file/);
    const option = await runPlc(["diff", first, target, ...ssh, "-o", "=bad"]);
    assert.equal(option.status, 2);
    const noHost = await runPlc(["diff", first, ...ssh]);
    assert.equal(noHost.status, 2);
    assert.match(noHost.stderr, /no host to compare with/);
    assert.equal(host.connections(), connections);
  });
});
