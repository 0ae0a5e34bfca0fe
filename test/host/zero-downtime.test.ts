// deploy_strategy blue-green on a sandbox host with the real nginx in front: a client sends requests
// through it for the whole deploy and none fails; a new release that never gets healthy leaves the old
// one serving and the upstream untouched. The same client sees the outage of a recreate deploy, so it
// does notice one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { client, startNginx } from "./live-nginx.js";
import { SandboxHost, buildBundle, install, mustInstall, requireSandbox } from "./sandbox.js";

const NAME = "ybs-live";
const HOME = `/home/${NAME}`;
const DNS = "live.example.com";
const UPSTREAM = `/etc/nginx/plc/${NAME}.upstream.conf`;
const BASE = ["prefix=ybs", "instance=live", `dns=${DNS}`, "healthcheck_timeout=3", "host_port=18300", "drain_seconds=1"];

test("blue-green deploys behind the real nginx", { timeout: 180_000 }, async (t) => {
  if (!requireSandbox(t, "nginx")) return;
  const host = await SandboxHost.start(t);
  for (const version of ["v1", "v2", "v4"]) host.image(`ybs/live:${version}`, { body: version });
  host.image("ybs/live:v3", { health: "down" });
  startNginx(host);
  const blueGreen = (version: string): string[] => [...BASE, `image=ybs/live:${version}`, "deploy_strategy=blue-green"];
  mustInstall(host, buildBundle(blueGreen("v1")));
  assert.equal(host.must(`curl -s -H 'Host: ${DNS}' http://127.0.0.1/`), "v1");

  await t.test("a deploy under load: every request answered, the new release serves, the old slot stopped and kept", async () => {
    const load = client(host, DNS);
    const output = mustInstall(host, buildBundle(blueGreen("v2")));
    const answers = await load.stop();
    assert.match(output, /draining the old slot for 1s/);
    const failed = answers.filter((line) => !/^v[12] 200$/.test(line));
    assert.deepEqual(failed, [], `${String(failed.length)} of ${String(answers.length)} requests failed`);
    assert.ok(answers.includes("v1 200") && answers.at(-1) === "v2 200", answers.join(","));
    assert.deepEqual(host.container(NAME), { image: "ybs/live:v2", running: true });
    assert.deepEqual(host.container(`${NAME}.plc-previous`), { image: "ybs/live:v1", running: false });
    assert.equal(host.container(`${NAME}.plc-next`), undefined);
    // The first deploy took slot b (a is where a recreated container would be); this one took a.
    assert.equal(host.read(`${HOME}/.slot`), "a\n");
    assert.match(host.read(UPSTREAM), /^upstream plc-ybs-live \{\n {4}server 127\.0\.0\.1:18300;\n\}\n$/);
  });

  await t.test("a new release that never answers: the old one serves throughout, the upstream is unchanged", async () => {
    const upstream = host.read(UPSTREAM);
    const load = client(host, DNS);
    const result = install(host, buildBundle(blueGreen("v3")));
    const answers = await load.stop();
    assert.notEqual(result.status, 0, result.stdout);
    assert.match(result.stderr, /no healthy answer from http:\/\/127\.0\.0\.1:18301\//);
    assert.deepEqual(answers.filter((line) => line !== "v2 200"), []);
    assert.equal(host.read(UPSTREAM), upstream);
    assert.equal(host.read(`${HOME}/.slot`), "a\n");
    assert.deepEqual(host.container(NAME), { image: "ybs/live:v2", running: true });
    assert.equal(host.container(`${NAME}.plc-next`), undefined);
    assert.equal(host.container(`${NAME}.plc-previous`), undefined, "the slot kept from before goes with the failed deploy");
  });

  await t.test("control: the same client sees the outage of a recreate deploy", async () => {
    const load = client(host, DNS);
    mustInstall(host, buildBundle([...BASE, "image=ybs/live:v4", "deploy_strategy=recreate"]));
    const answers = await load.stop();
    assert.ok(answers.some((line) => !line.endsWith(" 200")), answers.join(","));
    assert.equal(answers.at(-1), "v4 200");
    assert.ok(!host.exists(`${HOME}/.slot`), "a recreated container has no slot");
  });
});
