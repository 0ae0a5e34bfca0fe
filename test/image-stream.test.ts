// --image-archive: the archive stays on disk and is packed in chunks (gzip members of 4 MiB), so its size
// costs no memory. The tarball made that way is still one gzip stream to gzip, GNU tar and busybox,
// deterministic, and holds the archive byte for byte.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CLI } from "./fixtures.js";
import { requireTool, runTool } from "./tools.js";

const MiB = 1024 * 1024;
const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

/** A docker-save archive of one image whose single layer holds `size` bytes that do not compress. */
function writeArchive(file: string, size: number): void {
  const dir = mkdtempSync(join(tmpdir(), "plc-image-stream-src-"));
  try {
    const layer = randomBytes(size);
    const digest = sha256(layer);
    mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
    writeFileSync(join(dir, "blobs", "sha256", digest), layer);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ config: { Env: ["PLAYLABS_PLUGINS="] } }));
    writeFileSync(join(dir, "manifest.json"), JSON.stringify([{ Config: "config.json", RepoTags: ["local/app:v1"], Layers: [`blobs/sha256/${digest}`] }]));
    const made = spawnSync("tar", ["-cf", file, "-C", dir, "manifest.json", "config.json", "blobs"]);
    assert.equal(made.status, 0, String(made.stderr));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Peak resident set of the plc process, in bytes. */
  maxRss: number;
}

/** The CLI as a process, its peak RSS read by the process itself at exit (no GNU time needed). */
function plc(args: string[], dir: string): Run {
  const rssFile = join(dir, `rss-${String(Math.random()).slice(2)}`);
  const hook = `data:text/javascript,import{writeFileSync}from"node:fs";process.on("exit",()=>writeFileSync(${JSON.stringify(rssFile)},String(process.resourceUsage().maxRSS)))`;
  const result = spawnSync(process.execPath, ["--import", hook, CLI, ...args], { encoding: "utf8", cwd: dir, env: { ...process.env, SOURCE_DATE_EPOCH: "0" } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, maxRss: Number(readFileSync(rssFile, "utf8")) * 1024 };
}

describe("image archive streamed through pack", () => {
  let dir = "";
  let archive = "";
  const ARGS = ["image=local/app:v1", "prefix=ybs", "instance=hack"];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "plc-image-stream-"));
    archive = join(dir, "app.tar");
    // Past several gzip members (4 MiB each), not a multiple of a tar block.
    writeArchive(archive, 12 * MiB + 12345);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const tarballIn = (out: string): string => join(out, readdirSync(out).find((file) => file.endsWith(".tar.gz")) ?? "");

  it("gives a tarball gzip, GNU tar and busybox read, holding the archive byte for byte, the same on every build", (t) => {
    const first = plc(["build", "-o", join(dir, "a"), "--image-archive", archive, ...ARGS], dir);
    assert.equal(first.status, 0, first.stderr);
    const second = plc(["build", "-o", join(dir, "b"), "--image-archive", archive, ...ARGS], dir);
    assert.equal(second.status, 0, second.stderr);
    const tarball = tarballIn(join(dir, "a"));
    assert.ok(readFileSync(tarball).equals(readFileSync(tarballIn(join(dir, "b")))), "two builds differ");
    assert.equal(runTool("gzip", ["-t", tarball]).status, 0);
    const verified = plc(["verify", tarball], dir);
    assert.equal(verified.status, 0, verified.stderr);
    const want = sha256(readFileSync(archive));
    const gnu = join(dir, "gnu");
    mkdirSync(gnu);
    assert.equal(runTool("tar", ["-xzf", tarball, "-C", gnu]).status, 0);
    assert.equal(sha256(readFileSync(join(gnu, "ybs-hack", "image.tar"))), want);
    const sums = readFileSync(join(gnu, "ybs-hack", "SHA256SUMS"), "utf8");
    assert.match(sums, new RegExp(`^${want}  image\\.tar$`, "m"));
    if (!requireTool(t, "busybox")) return;
    const busybox = join(dir, "busybox");
    mkdirSync(busybox);
    assert.equal(runTool("busybox", ["tar", "-xzf", tarball, "-C", busybox]).status, 0);
    assert.equal(sha256(readFileSync(join(busybox, "ybs-hack", "image.tar"))), want);
  });

  it("plc render and the self-extracting .run carry the archive unchanged", () => {
    const want = sha256(readFileSync(archive));
    const rendered = plc(["render", "-o", join(dir, "tree"), "--image-archive", archive, ...ARGS], dir);
    assert.equal(rendered.status, 0, rendered.stderr);
    assert.equal(sha256(readFileSync(join(dir, "tree", "image.tar"))), want);
    const built = plc(["build", "-o", join(dir, "run"), "--self-extracting", "--image-archive", archive, ...ARGS], dir);
    assert.equal(built.status, 0, built.stderr);
    const run = join(dir, "run", readdirSync(join(dir, "run")).find((file) => file.endsWith(".run")) ?? "");
    const extracted = runTool("sh", [run, "--extract", join(dir, "extracted")]);
    assert.equal(extracted.status, 0, extracted.stderr);
    assert.equal(sha256(readFileSync(join(dir, "extracted", "ybs-hack", "image.tar"))), want);
  });

  it("costs no memory for its size: a 128 MiB archive raises the build's peak RSS by less than half its size", () => {
    // Holding the archive once would cost 128 MiB; plc before streaming held it three times (+400 MiB).
    const big = join(dir, "big.tar");
    writeArchive(big, 128 * MiB);
    const without = plc(["build", "-o", join(dir, "plain"), ...ARGS], dir);
    assert.equal(without.status, 0, without.stderr);
    const withArchive = plc(["build", "-o", join(dir, "rss"), "--image-archive", big, ...ARGS], dir);
    assert.equal(withArchive.status, 0, withArchive.stderr);
    const extra = (withArchive.maxRss - without.maxRss) / MiB;
    assert.ok(extra < 64, `a 128 MiB archive raised the peak RSS by ${extra.toFixed(0)} MiB`);
  });
});
