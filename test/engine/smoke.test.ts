import assert from "node:assert/strict";
import { it } from "node:test";
import { EngineHost, requireEngine } from "./engine.js";

it("smoke", async (t) => {
  if (!requireEngine(t)) return;
  const engine = await EngineHost.start(t);
  engine.appImage("app:v1", { version: "v1" });
  engine.docker(["run", "-d", "--name", "xx", "-p", "127.0.0.1:28001:8000", "app:v1"]);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(engine.get(28001), "v1\n");
  console.log(engine.docker(["info", "--format", "{{.Driver}} {{.CgroupDriver}}"]));
});
