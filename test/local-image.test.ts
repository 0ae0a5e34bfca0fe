// The image's config from a local engine (load/local-image.ts): Docker's own CLI is not started when no
// engine can answer it, and anything that may answer is asked.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DEFAULT_DOCKER_SOCKET, noEngineAnswers } from "../compiler/load/local-image.js";
import { CLI } from "./fixtures.js";

const work = mkdtempSync(join(tmpdir(), "plc-local-image-"));
after(() => {
  rmSync(work, { recursive: true, force: true });
});

let count = 0;
/** A folder holding `docker`: an executable file (a copy of an ELF, or a script), or a link to another name. */
function bin(kind: "elf" | "script" | "link to nerdctl"): string {
  const dir = join(work, `bin${++count}`);
  mkdirSync(dir);
  if (kind === "elf") copyFileSync("/bin/true", join(dir, "docker"));
  if (kind === "script") writeFileSync(join(dir, "docker"), "#!/bin/sh\nexec podman \"$@\"\n");
  if (kind === "link to nerdctl") {
    copyFileSync("/bin/true", join(dir, "nerdctl"));
    symlinkSync("nerdctl", join(dir, "docker"));
  }
  chmodSync(join(dir, "docker"), 0o755);
  return dir;
}

/** A HOME with ~/.docker/config.json, when given. */
function home(config?: object): string {
  const dir = join(work, `home${++count}`);
  mkdirSync(join(dir, ".docker"), { recursive: true });
  if (config !== undefined) writeFileSync(join(dir, ".docker", "config.json"), JSON.stringify(config));
  return dir;
}

const absent = join(work, "no-such.sock");

describe("a local engine for the image's config", () => {
  it("Docker's own CLI with nothing naming an engine and no default socket: no engine can answer", () => {
    assert.equal(noEngineAnswers({ PATH: bin("elf"), HOME: home() }, absent), true);
    assert.equal(noEngineAnswers({ PATH: bin("elf"), HOME: home({ currentContext: "default" }) }, absent), true);
    assert.equal(noEngineAnswers({ PATH: join(work, "empty"), HOME: home() }, absent), true, "no docker on PATH");
  });

  it("anything that may answer is asked: a socket, DOCKER_HOST, a context, podman's script, nerdctl, an unreadable config", async () => {
    const listening = createServer();
    const socket = join(work, "docker.sock");
    await new Promise<void>((resolve) => listening.listen(socket, resolve));
    try {
      assert.equal(noEngineAnswers({ PATH: bin("elf"), HOME: home() }, socket), false, "the default socket exists");
    } finally {
      listening.close();
    }
    assert.equal(noEngineAnswers({ PATH: bin("elf"), HOME: home(), DOCKER_HOST: "tcp://10.0.0.1:2375" }, absent), false);
    assert.equal(noEngineAnswers({ PATH: bin("elf"), HOME: home(), DOCKER_CONTEXT: "rootless" }, absent), false);
    assert.equal(noEngineAnswers({ PATH: bin("elf"), HOME: home({ currentContext: "desktop-linux" }) }, absent), false);
    const config = join(work, `config${++count}`);
    mkdirSync(config);
    writeFileSync(join(config, "config.json"), JSON.stringify({ currentContext: "colima" }));
    assert.equal(noEngineAnswers({ PATH: bin("elf"), HOME: home(), DOCKER_CONFIG: config }, absent), false, "DOCKER_CONFIG's config");
    const broken = home();
    writeFileSync(join(broken, ".docker", "config.json"), "{not json");
    assert.equal(noEngineAnswers({ PATH: bin("elf"), HOME: broken }, absent), false);
    assert.equal(noEngineAnswers({ PATH: bin("script"), HOME: home() }, absent), false, "podman-docker's script");
    assert.equal(noEngineAnswers({ PATH: bin("link to nerdctl"), HOME: home() }, absent), false, "nerdctl linked as docker");
  });

  it("plc build starts docker only when an engine may answer", () => {
    // Every execFile/execFileSync the run makes, by file name.
    const calls = join(work, "calls");
    const hook = join(work, "record-exec.cjs");
    writeFileSync(
      hook,
      `const cp = require("node:child_process"); const fs = require("node:fs");
for (const name of ["execFile", "execFileSync"]) { const real = cp[name]; cp[name] = function (file, ...rest) { fs.appendFileSync(${JSON.stringify(calls)}, name + " " + file + "\\n"); return real.call(this, file, ...rest); }; }
`,
    );
    const build = (env: NodeJS.ProcessEnv, image: "argv" | "inventory"): string[] => {
      rmSync(calls, { force: true });
      const inventory = join(work, `inventory${++count}.yml`);
      writeFileSync(inventory, "all:\n  vars:\n    yp_prod_image: reg.example.com/app:1\n");
      const words = image === "argv" ? ["image=reg.example.com/app:1"] : ["-i", inventory];
      const run = spawnSync(process.execPath, [CLI, "build", "-o", join(work, `dist${++count}`), ...words, "prefix=yp", "instance=prod", "backup_password=x"], {
        cwd: work,
        encoding: "utf8",
        env: { NODE_OPTIONS: `--require ${hook}`, HOME: home(), ...env },
      });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /note: the config of reg\.example\.com\/app:1 could not be read/);
      return existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : [];
    };
    const elf = bin("elf");
    for (const image of ["argv", "inventory"] as const) {
      // Docker's CLI with no engine to reach: a CI runner with docker.io installed and no daemon.
      assert.deepEqual(build({ PATH: elf }, image), existsSync(DEFAULT_DOCKER_SOCKET) ? [`${image === "argv" ? "execFile" : "execFileSync"} docker`] : [], `${image}: no engine can answer`);
      assert.deepEqual(build({ PATH: elf, DOCKER_HOST: "unix:///nonexistent.sock" }, image), [`${image === "argv" ? "execFile" : "execFileSync"} docker`], `${image}: DOCKER_HOST names one`);
    }
  });
});
