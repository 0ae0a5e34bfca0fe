// The air-gapped install on the real engine: the image travels in the bundle (--image-archive made by
// a real `docker save`), install.sh loads it, and nothing is ever pulled, not even by `docker run`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { it } from "node:test";
import { CLI } from "../fixtures.js";
import { buildBundle, mustInstall } from "../host/sandbox.js";
import { EngineHost, requireEngine } from "./engine.js";

const NAME = "e2e-e";
const PORT = 28003;
/** Pull requests dockerd received (the CLI asks for a pull with POST /images/create). */
const pulls = (log: string): string[] => log.split("\n").filter((line) => /POST \/v[0-9.]+\/images\/create/.test(line));

it("an air-gapped install loads the image from the bundle and never pulls", async (t) => {
  if (!requireEngine(t)) return;
  const engine = await EngineHost.start(t);
  const { host } = engine;
  const archive = join(host.dir, "airgap.tar");
  engine.appImage("app:airgap", { version: "airgap" });
  engine.docker(["save", "app:airgap", "-o", archive]);
  engine.docker(["rmi", "app:airgap"]);
  const pull = engine.dockerResult(["pull", "app:airgap"]);
  assert.notEqual(pull.status, 0, "a registry answered: the test proves nothing");

  await t.test("plc build refuses a real docker-save archive that does not hold the image's tag", () => {
    const result = spawnSync(process.execPath, [CLI, "build", "-o", join(host.dir, "refused"), "--image-archive", archive, "image=app:other"], { encoding: "utf8" });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /error\[archive-image-mismatch\]: --image-archive holds app:airgap, not app:other/);
    assert.match(result.stderr, /argv\[5\] 'image=…'/);
  });

  const bundle = buildBundle(["image=app:airgap", "prefix=e2e", "instance=e", `host_port=${String(PORT)}`, "healthcheck_timeout=6"], { imageArchive: archive });

  await t.test("install.sh loads the image, runs it and dockerd sees no pull", () => {
    const before = pulls(engine.daemonLog()).length;
    const out = mustInstall(host, bundle);
    assert.match(out, /loading the image from image\.tar/);
    assert.doesNotMatch(out, /pulling/);
    assert.equal(engine.get(PORT), "airgap\n");
    assert.equal(engine.get(PORT, "/id.txt"), "1000:1000\n");
    assert.deepEqual(pulls(engine.daemonLog()).slice(before), []);
  });

  await t.test("docker-run.sh of a bundled image never pulls, even when the image went missing", () => {
    engine.docker(["rm", "-f", NAME]);
    engine.docker(["rmi", "app:airgap"]);
    const before = pulls(engine.daemonLog()).length;
    const result = host.sh(`/home/${NAME}/docker-run.sh`);
    assert.notEqual(result.status, 0);
    assert.doesNotMatch(result.stderr, /Unable to find image/);
    assert.match(result.stderr, /No such image/);
    assert.deepEqual(pulls(engine.daemonLog()).slice(before), []);
  });
});
