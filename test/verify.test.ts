// plc verify: a good bundle passes and says what it deploys; a tampered or missing file is named, exit 1.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI } from "./fixtures.js";
import { withFileListedOnlyInSums, withManifestEdited, withOwnerAndMode, withSpecialEntries } from "./tamper.js";
import { requireTool, runTool } from "./tools.js";
import { Header } from "tar";

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

  /** Writes a tampered tarball beside the bundle and runs plc verify on it. */
  function verifyTampered(name: string, tgz: Buffer) {
    const out = join(dir, `${name}.tar.gz`);
    writeFileSync(out, tgz);
    return plc("verify", out);
  }

  it("refuses a secrets.env listed only in SHA256SUMS (it would run as root, outside the id)", () => {
    const result = verifyTampered("sums-only-secrets", withFileListedOnlyInSums(readFileSync(bundle), "ybs-hack", "secrets.env", "SECRET_KEY=$(id >/root/PWNED)\n"));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /secrets\.env is not in MANIFEST\.json/);
    assert.doesNotMatch(result.stderr, /^ok:/m);
  });

  it("refuses an image.tar listed only in SHA256SUMS", () => {
    const result = verifyTampered("sums-only-image", withFileListedOnlyInSums(readFileSync(bundle), "ybs-hack", "image.tar", "not the image\n"));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /image\.tar is not in MANIFEST\.json/);
  });

  it("refuses headers with owner 1000 and mode 0777, contents unchanged", () => {
    const result = verifyTampered("owner", withOwnerAndMode(readFileSync(bundle), 1000, 0o777));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /\d+ entries are not owned by 0 in the tarball, as plc writes them \(ybs-hack\/ 1000:1000, MANIFEST\.json 1000:1000/);
    assert.match(result.stderr, /install\.sh has mode 0777 in the tarball, MANIFEST\.json says 0755/);
  });

  it("refuses header modes that differ from MANIFEST.json, owners and contents unchanged", () => {
    const result = verifyTampered("one-mode", withOwnerAndMode(readFileSync(bundle), 0, 0o755));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /env has mode 0755 in the tarball, MANIFEST\.json says 0644/);
  });

  it("refuses device nodes, FIFOs, links and a nested SHA256SUMS even when SHA256SUMS lists it", () => {
    const base = withFileListedOnlyInSums(readFileSync(bundle), "ybs-hack", "logrotate/SHA256SUMS", "0000  x\n");
    const special = { uid: 0, gid: 0, content: Buffer.alloc(0) };
    const result = verifyTampered("special", withSpecialEntries(base, [
      { ...special, path: "ybs-hack/logrotate/zero", type: "CharacterDevice", mode: 0o666, devmaj: 1, devmin: 5 },
      { ...special, path: "ybs-hack/logrotate/disk", type: "BlockDevice", mode: 0o644, devmaj: 254, devmin: 0 },
      { ...special, path: "ybs-hack/logrotate/fifo", type: "FIFO", mode: 0o644 },
      { ...special, path: "ybs-hack/shadow", type: "SymbolicLink", mode: 0o777, linkpath: "/etc/shadow" },
      { ...special, path: "ybs-hack/hard", type: "Link", mode: 0o644, linkpath: "ybs-hack/env" },
    ]));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /logrotate\/zero: a CharacterDevice has no place in a bundle/);
    assert.match(result.stderr, /logrotate\/disk: a BlockDevice has no place/);
    assert.match(result.stderr, /logrotate\/fifo: a FIFO has no place/);
    assert.match(result.stderr, /shadow: a SymbolicLink has no place/);
    assert.match(result.stderr, /hard: a Link has no place/);
    assert.match(result.stderr, /logrotate\/SHA256SUMS: a nested SHA256SUMS has no place in a bundle/);
  });

  it("refuses a MANIFEST.json whose image or home was changed, its checksum updated: the id covers the manifest", () => {
    const image = verifyTampered("manifest-image", withManifestEdited(readFileSync(bundle), "ybs-hack", (manifest) => {
      manifest["image"] = "evil/mrs:master";
    }));
    assert.equal(image.status, 1, image.stderr);
    assert.match(image.stderr, /the bundle id does not match its files/);
    assert.doesNotMatch(image.stdout, /evil/);
    const home = verifyTampered("manifest-home", withManifestEdited(readFileSync(bundle), "ybs-hack", (manifest) => {
      manifest["home"] = "/root";
    }));
    assert.equal(home.status, 1, home.stderr);
    assert.match(home.stderr, /the bundle id does not match its files/);
  });

  it("refuses a path that climbs out of the bundle", () => {
    const result = verifyTampered("dotdot", withSpecialEntries(readFileSync(bundle), [
      { path: "ybs-hack/../evil.sh", type: "File", mode: 0o644, uid: 0, gid: 0, content: Buffer.from("x") },
    ]));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /\.\.\/evil\.sh: path escapes the bundle/);
  });

  it("hashes a 256 MiB image archive as it passes, in bounded memory", (t) => {
    if (!requireTool(t, "/usr/bin/time")) return;
    const archive = join(dir, "image.tar");
    writeImageArchive(archive, 256 * 1024 * 1024);
    const built = plc("build", "-o", "big", "--image-archive", archive, "image=app:v1", "prefix=big", "instance=one");
    assert.equal(built.status, 0, built.stderr);
    rmSync(archive);
    const tgz = join(dir, "big", readdirSync(join(dir, "big")).find((f) => f.endsWith(".tar.gz")) ?? "");
    const timed = runTool("/usr/bin/time", ["-f", "maxrss-kb %M", process.execPath, CLI, "verify", tgz], { cwd: dir });
    assert.equal(timed.status, 0, timed.stderr);
    const rss = Number(/maxrss-kb (\d+)/.exec(timed.stderr)?.[1]);
    // Buffering the archive takes more than 256 MiB; streaming stays near node's own footprint.
    assert.ok(rss > 0 && rss < 160 * 1024, `plc verify peaked at ${rss} KiB`);
  });

  it("refuses what is not a tarball", () => {
    writeFileSync(join(dir, "junk.tar.gz"), "junk");
    const result = plc("verify", join(dir, "junk.tar.gz"));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /is not a bundle tarball/);
  });
});

/** A docker-save-shaped archive whose layer is `size` bytes of mostly zeros, written without holding it in memory. */
function writeImageArchive(path: string, size: number): void {
  const fd = openSync(path, "w");
  const entry = (name: string, length: number): void => {
    const block = Buffer.alloc(512);
    new Header({ path: name, type: "File", mode: 0o644, size: length, mtime: new Date(0), uid: 0, gid: 0 }).encode(block, 0);
    writeSync(fd, block);
  };
  const small = (name: string, text: string): void => {
    const data = Buffer.from(text, "utf8");
    entry(name, data.length);
    writeSync(fd, Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]));
  };
  small("manifest.json", JSON.stringify([{ Config: "config.json", RepoTags: ["app:v1"], Layers: ["layer.tar"] }]));
  small("config.json", JSON.stringify({ config: { Env: [] } }));
  entry("layer.tar", size);
  // Some noise in each 64 KiB, so gzip's ratio stays that of a real image (node-tar refuses beyond 1000:1).
  const chunk = Buffer.alloc(64 * 1024);
  for (let written = 0; written < size; written += chunk.length) {
    for (let i = 0; i < 400; i++) chunk[i] = (written / chunk.length + i * 7919) % 251;
    writeSync(fd, chunk);
  }
  writeSync(fd, Buffer.alloc(1024));
  closeSync(fd);
}
