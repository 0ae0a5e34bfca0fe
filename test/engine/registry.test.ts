// The pull path on the real engine, with a registry inside the host's network namespace: an image by
// tag is pulled on every deploy, so a tag that moved (:latest, :master) deploys what it names now.
import assert from "node:assert/strict";
import { it } from "node:test";
import { buildBundle, install } from "../host/sandbox.js";
import { EngineHost, requireEngine } from "./engine.js";

const IMAGE = "127.0.0.1:5000/app:master";
const PORT = 28006;

it("a moving tag is pulled from the registry on every deploy", async (t) => {
  if (!requireEngine(t, "docker-registry")) return;
  const engine = await EngineHost.start(t);
  const { host } = engine;
  engine.startRegistry();
  const push = (version: string): void => {
    engine.appImage(IMAGE, { version });
    engine.docker(["push", "--quiet", IMAGE]);
  };
  const bundle = buildBundle([`image=${IMAGE}`, "prefix=e2e", "instance=r", `host_port=${String(PORT)}`, "healthcheck_timeout=6"]);

  push("one");
  engine.docker(["rmi", IMAGE]);
  const first = install(host, bundle);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /pulling 127\.0\.0\.1:5000\/app:master/);
  assert.equal(engine.get(PORT), "one\n");

  // The registry's tag moves on; this host's copy still names the old image.
  push("two");
  engine.docker(["tag", engine.inspect(`e2e-r`, "{{.Image}}"), IMAGE]);
  assert.equal(engine.inspect(IMAGE, "{{index .Config.Env 0}}").includes("APP_VERSION=one"), true);
  const second = install(host, bundle);
  assert.equal(second.status, 0, second.stderr);
  assert.doesNotMatch(second.stderr, /warning/);
  assert.equal(engine.get(PORT), "two\n");
});
