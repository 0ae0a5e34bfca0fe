// The docker shim (test/host/shims/docker) against the real CLI and daemon, where plc depends on the
// difference: what a missing container or image does, and which signal ends a container.
import assert from "node:assert/strict";
import { it } from "node:test";
import { SandboxHost, type RunResult } from "../host/sandbox.js";
import { EngineHost, requireEngine } from "./engine.js";

it("the docker shim answers like the real docker where plc relies on it", async (t) => {
  if (!requireEngine(t)) return;
  const engine = await EngineHost.start(t);
  const shim = await SandboxHost.start(t);
  engine.appImage("app:v1", { version: "v1" });
  shim.image("app:v1", {});
  shim.must("docker pull app:v1");
  const both = (script: string): [RunResult, RunResult] => [engine.host.sh(script), shim.sh(script)];

  await t.test("rm -f of a missing container prints an error and exits 0", () => {
    for (const result of both("docker rm -f no-such-container")) {
      assert.equal(result.status, 0);
      assert.match(result.stderr, /No such container: no-such-container/);
    }
  });

  await t.test("run of a missing image tries to pull it; with --pull never it does not", () => {
    for (const result of both("docker run --detach --name missing app:missing")) assert.match(result.stderr, /Unable to find image 'app:missing' locally/);
    for (const result of both("docker run --detach --name never --pull never app:never")) {
      assert.notEqual(result.status, 0);
      assert.doesNotMatch(result.stderr, /Unable to find image/);
      assert.match(result.stderr, /No such image: app:never/);
    }
  });

  await t.test("rm -f kills a running container without its stop signal; stop sends it", () => {
    const started = "docker run --detach --name app-c --mount type=bind,source=/run/c,target=/app/log app:v1 >/dev/null && sleep 1";
    engine.host.must(`mkdir -p /run/c && chown 1000:1000 /run/c && ${started} && docker rm -f app-c >/dev/null`);
    assert.doesNotMatch(engine.host.read("/run/c/app.log"), /stop/);
    engine.host.must(`${started} && docker stop app-c >/dev/null`);
    assert.match(engine.host.read("/run/c/app.log"), /stop TERM v1/);
    // The shim's containers write what ended them to their log.
    shim.must("docker run --detach --name app-c app:v1 >/dev/null && docker rm -f app-c >/dev/null");
    shim.must("docker run --detach --name app-d app:v1 >/dev/null && docker stop app-d >/dev/null");
    assert.match(shim.read(`${shim.state}/containers/app-d/log`), /shim: stopped/);
  });
});
