// Two builds of the same inputs are byte-identical: other directory, umask, clock and time zone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CLI, FIXTURES } from "./fixtures.js";
import { requireTool, runTool } from "./tools.js";

const ARGS = [
  "-i",
  join(FIXTURES, "inventory-production", "inventory"),
  "prefix=yourproject",
  "instance=production",
  "backup_password=foo",
  "dns_redirect=www.yourproject.example.com",
];

function build(umask: string, extraEnv: Record<string, string>): { dir: string; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "plc-repro-"));
  const command = `umask ${umask} && exec "$0" "$@"`;
  const result = spawnSync("sh", ["-c", command, process.execPath, CLI, "build", "-o", "out", ...ARGS], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, ...extraEnv },
  });
  assert.equal(result.status, 0, result.stderr);
  return { dir, files: readdirSync(join(dir, "out")).sort() };
}

const sha = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

it("builds in different directories, umasks, clocks and time zones are byte-identical", async () => {
  const first = build("022", { TZ: "UTC", SOURCE_DATE_EPOCH: "1700000000" });
  await sleep(1100);
  const second = build("077", { TZ: "Pacific/Kiritimati", SOURCE_DATE_EPOCH: "1700000000", LANG: "fr_FR.UTF-8" });
  try {
    assert.deepEqual(first.files, second.files);
    const tarball = first.files.find((file) => file.endsWith(".tar.gz"));
    assert.ok(tarball !== undefined);
    assert.equal(sha(join(first.dir, "out", tarball)), sha(join(second.dir, "out", tarball)));
    // The secrets file is private whatever the umask.
    const secrets = first.files.find((file) => file.endsWith(".secrets.env"));
    assert.ok(secrets !== undefined);
    assert.equal(statSync(join(first.dir, "out", secrets)).mode & 0o777, 0o600);
  } finally {
    rmSync(first.dir, { recursive: true, force: true });
    rmSync(second.dir, { recursive: true, force: true });
  }
});

it("SOURCE_DATE_EPOCH sets every mtime (and so the id, the sha256 of the tar)", () => {
  const a = build("022", { SOURCE_DATE_EPOCH: "0" });
  const b = build("022", { SOURCE_DATE_EPOCH: "1700000000" });
  try {
    assert.notDeepEqual(a.files, b.files, "the id covers the tar headers, mtimes included");
    const tarball = b.files.find((file) => file.endsWith(".tar.gz")) ?? "";
    const listing = runTool("tar", ["-tvzf", join(b.dir, "out", tarball), "--utc"]);
    assert.equal(listing.status, 0);
    for (const line of listing.stdout.trim().split("\n")) assert.match(line, / 0\/0 .* 2023-11-14 22:13 /);
  } finally {
    rmSync(a.dir, { recursive: true, force: true });
    rmSync(b.dir, { recursive: true, force: true });
  }
});

it("sha256sum -c SHA256SUMS passes inside the unpacked bundle, and catches a change", (t) => {
  if (!requireTool(t, "sha256sum", "tar")) return;
  const { dir, files } = build("022", {});
  try {
    const tarball = files.find((file) => file.endsWith(".tar.gz")) ?? "";
    assert.equal(runTool("tar", ["-xzf", join(dir, "out", tarball), "-C", dir]).status, 0);
    const root = join(dir, "yourproject-production");
    const check = runTool("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: root });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const manifest = JSON.parse(readFileSync(join(root, "MANIFEST.json"), "utf8")) as { id: string; files: { path: string }[] };
    assert.ok(tarball.includes(manifest.id.slice(0, 12)));
    assert.ok(manifest.files.some((file) => file.path === "install.sh"));
    assert.equal(runTool("sh", ["-c", "printf x >> env"], { cwd: root }).status, 0);
    const tampered = runTool("sha256sum", ["-c", "--strict", "--quiet", "SHA256SUMS"], { cwd: root });
    assert.notEqual(tampered.status, 0);
    assert.match(tampered.stdout, /env: FAILED/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
