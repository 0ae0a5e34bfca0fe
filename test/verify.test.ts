// plc verify: a good bundle passes and says what it deploys; a tampered or missing file is named, exit 1.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI } from "./fixtures.js";
import { runTool } from "./tools.js";

describe("plc verify", () => {
  let dir = "";
  let bundle = "";
  const plc = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "plc-verify-"));
    const built = plc("build", "-o", "out", "image=betagouv/mrs:master", "prefix=ybs", "instance=hack", "-p", "postgres,django", "env.SECRET_KEY=x", "backup_password=foo");
    assert.equal(built.status, 0, built.stderr);
    bundle = join(dir, "out", readdirSync(join(dir, "out")).find((f) => f.endsWith(".tar.gz")) ?? "");
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Unpacks the bundle, lets `change` edit the tree, repacks it with the system tar. */
  function tampered(name: string, change: (root: string) => void): string {
    const work = join(dir, name);
    assert.equal(runTool("mkdir", ["-p", work]).status, 0);
    assert.equal(runTool("tar", ["-xzf", bundle, "-C", work]).status, 0);
    change(join(work, "ybs-hack"));
    const out = join(dir, `${name}.tar.gz`);
    assert.equal(runTool("tar", ["-czf", out, "-C", work, "ybs-hack"]).status, 0);
    return out;
  }

  it("passes a bundle plc built and prints what it deploys", () => {
    const result = plc("verify", bundle);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^project {2}ybs$/m);
    assert.match(result.stdout, /^instance hack$/m);
    assert.match(result.stdout, /^image {4}betagouv\/mrs:master$/m);
    assert.match(result.stdout, /^plugins {2}postgres,django$/m);
    assert.match(result.stdout, /^id {7}[0-9a-f]{64}$/m);
  });

  it("names a modified file", () => {
    const result = plc("verify", tampered("modified", (root) => { appendFileSync(join(root, "env"), "EVIL=1\n"); }));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /env was modified \(sha256 mismatch\)/);
  });

  it("names a missing file", () => {
    const result = plc("verify", tampered("missing", (root) => { rmSync(join(root, "backup.sh")); }));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /backup\.sh is missing/);
  });

  it("names a file SHA256SUMS does not list", () => {
    const result = plc("verify", tampered("extra", (root) => { writeFileSync(join(root, "payload.sh"), "#!/bin/sh\n"); }));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /payload\.sh is not listed in SHA256SUMS/);
  });

  it("refuses what is not a tarball", () => {
    writeFileSync(join(dir, "junk.tar.gz"), "junk");
    const result = plc("verify", join(dir, "junk.tar.gz"));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /is not a bundle tarball/);
  });
});
