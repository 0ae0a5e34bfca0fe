// A rollout to 20 hosts, each its own sshd in its own network namespace: canary, batches, a failing
// host that stops the rollout (the hosts after it are listed, never contacted), and --max-failures.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { freeNetworks, requireShipTools, SshClient, type SshHost } from "./sandbox.js";

const HOSTS = 20;

test("plc ship --batch to 20 hosts", { timeout: 300_000 }, async (t) => {
  if (!requireShipTools(t)) return;
  const client = new SshClient();
  t.after(() => {
    client.close();
  });
  const hosts: SshHost[] = [];
  for (const network of freeNetworks(HOSTS)) hosts.push(await client.startHost({ network }));
  const built = await client.plc(["build", "-o", join(client.dir, "dist"), "prefix=ybs", "instance=fleet", "healthcheck_timeout=5", "host_port=18090", "image=nginx:1.27"]);
  assert.equal(built.status, 0, built.stderr);
  const bundle = built.stdout.split("\n").find((line) => line.endsWith(".tar.gz")) ?? "";
  const targets = hosts.map((host) => `@${host.address}`);
  // Host 8 (index 7) has another key on record: it fails at connecting, as a broken host would.
  const knownHosts = join(client.dir, "known_hosts.fleet");
  writeFileSync(knownHosts, hosts.map((host, index) => `${host.keyName} ${(index === 7 ? hosts[0] : host)?.hostKey ?? ""}\n`).join(""));
  const ship = (...flags: string[]) => client.plc(["ship", bundle, ...targets, "-F", client.config, "-o", `UserKnownHostsFile=${knownHosts}`, ...flags]);
  const row = (host: SshHost, result: string) => new RegExp(`^${host.address.replace(/\./g, "\\.")}\\s+${result}`, "m");

  await t.test("a failing host in the third batch stops the rollout after that batch; the rest are listed, never contacted", async () => {
    const result = await ship("--batch", "5");
    assert.equal(result.status, 1, result.stderr + result.stdout);
    // Batches: [1] [2-6] [7-11] — host 8 fails in the third, so 12-20 are not reached.
    for (const [index, host] of hosts.entries()) {
      if (index === 7) assert.match(result.stdout, row(host, "failed \\(connecting\\)"));
      else if (index <= 10) assert.match(result.stdout, row(host, "ok"));
      else assert.match(result.stdout, row(host, "not reached\\s+-$"));
    }
    assert.match(result.stderr, /the rollout stopped: 9 hosts not reached: /);
    assert.deepEqual(hosts.map((host) => host.connections()), hosts.map((_, index) => (index <= 10 ? 1 : 0)));
    assert.ok(hosts.slice(11).every((host) => !host.exists("/home/ybs-fleet")));
  });

  await t.test("--max-failures 1 tolerates it: every other host deploys", async () => {
    const result = await ship("--batch", "25%", "--max-failures", "1");
    assert.equal(result.status, 1, "a failed host still fails the ship");
    assert.doesNotMatch(result.stdout, /not reached/);
    assert.match(result.stderr, /1 of 20 hosts failed/);
    assert.ok(hosts.every((host, index) => index === 7 || host.exists("/home/ybs-fleet/current")));
  });

  await t.test("a canary that fails stops everything after it", async () => {
    const only = join(client.dir, "known_hosts.bad-canary");
    writeFileSync(only, hosts.map((host, index) => `${host.keyName} ${(index === 0 ? hosts[1] : host)?.hostKey ?? ""}\n`).join(""));
    const before = hosts.map((host) => host.connections());
    const result = await client.plc(["ship", bundle, ...targets, "-F", client.config, "-o", `UserKnownHostsFile=${only}`, "--batch", "10"]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /19 hosts not reached/);
    assert.deepEqual(hosts.map((host, index) => host.connections() - (before[index] ?? 0)), hosts.map((_, index) => (index === 0 ? 1 : 0)));
  });
});
