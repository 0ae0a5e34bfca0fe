// playlabs' `@localhost` (ansible -c local): plc ship runs the receiver on this machine, no ssh. Run
// inside a sandbox host's namespaces, so "this machine" is the sandbox.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { CLI } from "../fixtures.js";
import { buildInto, freePort, requireShipTools, SshClient } from "./sandbox.js";

test("plc ship BUNDLE @localhost deploys here without ssh", { timeout: 120_000 }, async (t) => {
  if (!requireShipTools(t)) return;
  const client = new SshClient();
  t.after(() => {
    client.close();
  });
  const host = await client.startHost();
  const httpPort = await freePort();
  const bundle = await buildInto(join(client.dir, "dist"), ["image=nginx:1.27", "prefix=ybs", "instance=local", "healthcheck_timeout=5", `host_port=${httpPort}`]);
  const result = host.sh(`${process.execPath} ${CLI} ship ${bundle} @localhost`);
  assert.equal(result.status, 0, result.stderr + result.stdout);
  assert.match(result.stderr, /plc ship: localhost: done/);
  assert.ok(host.exists("/home/ybs-local/current/install.sh"));
  assert.equal(host.read("/home/ybs-local/docker-image").trim(), "nginx:1.27");
  assert.equal(host.connections(), 0, "no ssh connection");
  assert.doesNotMatch(host.log(), /Starting session/);
});
