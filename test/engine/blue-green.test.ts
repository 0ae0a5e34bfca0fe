// deploy_strategy blue-green on the real engine behind the real nginx: a running container renamed
// under load, two loopback ports, the network alias, and no failed request (test/host has the same
// with the docker shim, plus the failure paths).
import assert from "node:assert/strict";
import { it } from "node:test";
import { client, startNginx } from "../host/live-nginx.js";
import { buildBundle, mustInstall } from "../host/sandbox.js";
import { EngineHost, requireEngine } from "./engine.js";

const NAME = "e2e-bg";
const DNS = "bg.example.com";
const PORT = 28101;
const bundle = (image: string): ReturnType<typeof buildBundle> =>
  buildBundle([`image=${image}`, "prefix=e2e", "instance=bg", `dns=${DNS}`, `host_port=${String(PORT)}`, "healthcheck_timeout=10", "deploy_strategy=blue-green", "drain_seconds=1"]);

it("blue-green on a real docker engine: no failed request through nginx", async (t) => {
  if (!requireEngine(t, "nginx")) return;
  const engine = await EngineHost.start(t);
  const { host } = engine;
  engine.appImage("app:v1", { version: "v1" });
  engine.appImage("app:v2", { version: "v2" });
  startNginx(host);
  mustInstall(host, bundle("app:v1"));
  assert.equal(engine.get(PORT + 1), "v1\n", "the first deploy takes slot b");

  const load = client(host, DNS);
  mustInstall(host, bundle("app:v2"));
  const answers = await load.stop();
  assert.deepEqual(answers.filter((line) => !/^v[12] 200$/.test(line)), [], `of ${String(answers.length)} requests`);
  assert.equal(answers.at(-1), "v2 200");
  assert.equal(engine.inspect(NAME, "{{.Config.Image}} {{.State.Running}}"), "app:v2 true");
  assert.equal(engine.inspect(NAME, "{{json .HostConfig.PortBindings}}"), `{"8000/tcp":[{"HostIp":"127.0.0.1","HostPort":"${String(PORT)}"}]}`);
  assert.match(engine.inspect(NAME, `{{json (index .NetworkSettings.Networks "${NAME}").Aliases}}`), new RegExp(`"${NAME}"`));
  assert.equal(engine.inspect(`${NAME}.plc-previous`, "{{.Config.Image}} {{.State.Running}}"), "app:v1 false");
  assert.equal(engine.get(PORT + 1), "", "the old slot stopped");
});
