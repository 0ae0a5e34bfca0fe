// plc ship to several hosts, each in its own network namespace with its own sshd: parallel runs,
// output prefixed by host, a summary table, a failed host failing the run, and the inventory path.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { freeNetworks, requireShipTools, SshClient, type SshHost } from "./sandbox.js";

test("plc ship to three hosts in network namespaces", { timeout: 120_000 }, async (t) => {
  if (!requireShipTools(t)) return;
  const client = new SshClient();
  t.after(() => {
    client.close();
  });
  const hosts: SshHost[] = [];
  for (const network of freeNetworks(3)) hosts.push(await client.startHost({ network }));
  const [h1, h2, h3] = hosts;
  assert.ok(h1 !== undefined && h2 !== undefined && h3 !== undefined);
  const spec = ["prefix=ybs", "instance=hack", "healthcheck_timeout=5", "host_port=18080", "image=nginx:1.27"];
  const dist = join(client.dir, "dist");
  const built = await client.plc(["build", "-o", dist, ...spec]);
  assert.equal(built.status, 0, built.stderr);
  const bundle = built.stdout.split("\n").find((line) => line.endsWith(".tar.gz")) ?? "";

  await t.test("--parallel 2 with one host whose key is wrong: the others deploy, the summary says which failed, exit 1", async () => {
    // h3's known key is another one: that host must fail alone.
    const knownHosts = join(client.dir, "known_hosts.mixed");
    writeFileSync(knownHosts, `${h1.keyName} ${h1.hostKey}\n${h2.keyName} ${h2.hostKey}\n${h3.keyName} ${h1.hostKey}\n`);
    const result = await client.plc(["ship", bundle, `@${h1.address}`, `@${h2.address}`, `@${h3.address}`, "-F", client.config, "-o", `UserKnownHostsFile=${knownHosts}`, "--parallel", "2"]);
    assert.equal(result.status, 1, result.stderr + result.stdout);
    assert.match(result.stdout, /^host\s+result\s+duration$/m);
    assert.match(result.stdout, new RegExp(`^${h1.address.replace(/\./g, "\\.")}\\s+ok\\s+\\d+\\.\\ds$`, "m"));
    assert.match(result.stdout, new RegExp(`^${h2.address.replace(/\./g, "\\.")}\\s+ok\\s+`, "m"));
    assert.match(result.stdout, new RegExp(`^${h3.address.replace(/\./g, "\\.")}\\s+failed \\(connecting\\)\\s+`, "m"));
    assert.match(result.stdout, new RegExp(`^${h1.address.replace(/\./g, "\\.")} \\| install\\.sh: deployed release`, "m"), "remote output prefixed with its host");
    assert.match(result.stderr, /1 of 3 hosts failed/);
    assert.deepEqual(hosts.map((host) => host.connections()), [1, 1, 1]);
    assert.ok(h1.exists("/home/ybs-hack/current") && h2.exists("/home/ybs-hack/current"));
    assert.ok(!h3.exists("/home/ybs-hack"));
  });

  await t.test("-i inventory: the hosts of group <prefix>-<instance>, reached through ansible_host/ansible_user", async () => {
    const inventory = join(client.dir, "inventory");
    mkdirSync(inventory, { recursive: true });
    writeFileSync(
      join(inventory, "inventory.yml"),
      `all:\n  children:\n    ybs-hack:\n      hosts:\n        web1:\n          ansible_host: ${h1.address}\n          ansible_user: root\n        web2:\n          ansible_host: ${h2.address}\n          ansible_port: 22\n`,
    );
    const result = await client.plc(["ship", "-i", inventory, ...spec, "-F", client.config, "--parallel", "2"]);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /^web1\s+ok\s+/m);
    assert.match(result.stdout, /^web2\s+ok\s+/m);
    assert.deepEqual(hosts.map((host) => host.connections()), [2, 2, 1]);
  });
});
