// plc ship through a jump host: the target's network namespace answers only over a link from the
// bastion's, so a deploy that arrives went through it. One session on each sshd, nothing on the
// bastion, and both host keys checked against the test's own known_hosts.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sh } from "../../compiler/render/quote.js";
import { CLI } from "../fixtures.js";
import { requireTool } from "../tools.js";
import { freeNetworks, requireShipTools, SshClient, type RunResult, type SshHost } from "./sandbox.js";

const WATCHED = ["/home", "/tmp", "/etc/systemd/system", "/etc/logrotate.d", "/run/lock"];

/** An ssh config (for -F) naming the two hosts: the target's block holds ProxyJump, User, Port, IdentityFile, UserKnownHostsFile. */
function jumpConfig(client: SshClient, name: string, bastion: SshHost, target: SshHost, bastionKnownHosts: string): string {
  const block = (alias: string, host: SshHost, knownHosts: string, extra: string[]): string[] => [
    `Host ${alias}`,
    `  HostName ${host.address}`,
    `  Port ${host.port}`,
    "  User root",
    ...extra,
    `  IdentityFile ${client.identityFile}`,
    "  IdentitiesOnly yes",
    `  UserKnownHostsFile ${knownHosts}`,
    "  GlobalKnownHostsFile /dev/null",
    "  StrictHostKeyChecking yes",
    "  ConnectTimeout 10",
  ];
  const file = join(client.dir, name);
  const text = [...block("plc-target", target, client.knownHosts, ["  ProxyJump plc-bastion"]), ...block("plc-bastion", bastion, bastionKnownHosts, []), ""];
  writeFileSync(file, text.join("\n"));
  return file;
}

/** Lines in which sshd says it ran a command or a shell for someone: none may appear on the bastion. */
function sessions(host: SshHost): string[] {
  return host.log().split("\n").filter((line) => /Starting session:/.test(line));
}

test("plc ship through a jump host", { timeout: 60_000 }, async (t) => {
  if (!requireShipTools(t)) return;
  const client = new SshClient();
  t.after(() => {
    client.close();
  });
  const [bastionNetwork, targetNetwork, linkNetwork] = freeNetworks(3);
  assert.ok(bastionNetwork !== undefined && targetNetwork !== undefined && linkNetwork !== undefined, "three free 10.231.N.0/30 networks");
  const bastion = await client.startHost({ network: bastionNetwork });
  const target = await client.startHost({ network: targetNetwork });
  const viaBastion = bastion.routeTo(target, linkNetwork, { isOnlyWay: true });
  const dist = join(client.dir, "dist");
  const built = await client.plc(["build", "-o", dist, "prefix=ybs", "instance=hack", "healthcheck_timeout=5", "host_port=18080", "image=nginx:1.27"]);
  assert.equal(built.status, 0, built.stderr);
  const bundle = built.stdout.split("\n").find((line) => line.endsWith(".tar.gz")) ?? "";
  const bastionBefore = bastion.listing(WATCHED);

  await t.test("-J root@bastion:port: deployed on the target through the bastion, one connection each, nothing on the bastion", async () => {
    const result = await client.plc(["ship", bundle, `@${target.address}`, "-J", `root@${bastion.address}:${bastion.port}`, "-F", client.config]);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.match(result.stdout, /install\.sh: deployed release/);
    assert.equal(bastion.connections(), 1, bastion.log());
    assert.equal(target.connections(), 1, target.log());
    // The target saw the bastion's link address: the session was forwarded, not made directly.
    assert.match(target.log(), new RegExp(`Connection from ${viaBastion.replace(/\./g, "\\.")} port \\d+ on `));
    assert.equal(sessions(target).length, 1, target.log());
    assert.deepEqual(sessions(bastion), [], "the bastion only forwards");
    assert.ok(target.exists("/home/ybs-hack/current/install.sh"));
    assert.equal(bastion.listing(WATCHED), bastionBefore, "nothing written on the bastion");
    assert.deepEqual(bastion.calls(), [], "no docker or systemctl call on the bastion");
  });

  await t.test("-F with ProxyJump in the target's Host block: the same path, from ssh config alone", async () => {
    const config = jumpConfig(client, "ssh_config.jump", bastion, target, client.knownHosts);
    const result = await client.plc(["ship", bundle, "@plc-target", "-F", config]);
    assert.equal(result.status, 0, result.stderr + result.stdout);
    assert.match(result.stderr, /plc ship: plc-target: done/);
    assert.equal(bastion.connections(), 2, bastion.log());
    assert.equal(target.connections(), 2, target.log());
    assert.equal(target.log().split(`Connection from ${viaBastion} port`).length - 1, 2);
    assert.deepEqual(sessions(bastion), []);
    assert.equal(bastion.listing(WATCHED), bastionBefore);
  });

  await t.test("-J with -o options: they reach the jump hop too, so an unknown bastion key is refused, named, never prompted", async (tt) => {
    if (!requireTool(tt, "script")) return;
    // Only the target's key is known: the bastion's must be refused on the jump hop, even on a terminal.
    const onlyTarget = join(client.dir, "known_hosts.only-target");
    writeFileSync(onlyTarget, `${target.keyName} ${target.hostKey}\n`);
    const before = bastion.connections();
    const command = [
      process.execPath, CLI, "ship", bundle, `@${target.address}`, "-J", `root@${bastion.address}:${bastion.port}`,
      "-o", `UserKnownHostsFile=${onlyTarget}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", `IdentityFile=${client.identityFile}`, "-o", "IdentitiesOnly=yes",
    ].map((word) => sh(word)).join(" ");
    // util-linux script gives plc a terminal, where ssh would ask "Are you sure…" if the hop were not strict.
    const result = await client.run("timeout", ["30", "script", "-qec", command, "/dev/null"]);
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.ok(result.stdout.includes(`host key of ${bastion.keyName} is unknown`), result.stdout);
    assert.doesNotMatch(result.stdout, /Are you sure you want to continue connecting/);
    assert.equal(bastion.connections(), before + 1);
  });

  let refused: RunResult | undefined;
  await t.test("the bastion's host key is checked too: a wrong one stops the ship before the target is reached", async () => {
    const targetBefore = target.listing(WATCHED);
    const [bastionConnections, targetConnections] = [bastion.connections(), target.connections()];
    const config = jumpConfig(client, "ssh_config.wrong-bastion", bastion, target, client.wrongKnownHosts());
    const result = await client.plc(["ship", bundle, "@plc-target", "-F", config]);
    refused = result;
    assert.equal(result.status, 1, result.stderr + result.stdout);
    assert.match(result.stderr, /host key .* is not the one known_hosts holds; nothing was sent/);
    assert.equal(bastion.connections(), bastionConnections + 1, bastion.log());
    assert.equal(target.connections(), targetConnections, "the target was never reached");
    assert.equal(target.listing(WATCHED), targetBefore);
    assert.equal(bastion.listing(WATCHED), bastionBefore);
  });

  await t.test(
    "a wrong bastion key is blamed on the bastion, not on the target",
    () => {
      assert.ok(refused !== undefined);
      assert.match(refused.stderr, new RegExp(`host key of ${bastion.address.replace(/\./g, "\\.")} is not the one`));
      // The hint must not send the user to delete the target's good key.
      assert.doesNotMatch(refused.stderr, /ssh-keygen -R 'plc-target'/);
    },
  );
});
