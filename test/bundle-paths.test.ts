// One path, one file: pack refuses a bundle that would hold a path twice, verify refuses a tarball or
// MANIFEST.json that does, and `plc ship @host --image-archive …` ships the very bundle `plc build`
// writes for the same inputs (it once added image.tar a second time).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { packBundle, tgzBytes } from "../compiler/pack/index.js";
import { CLI, compileFixture, FIXTURES, readFixture } from "./fixtures.js";
import { withManifestEdited } from "./tamper.js";

const plc = (args: readonly string[], cwd: string) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", SOURCE_DATE_EPOCH: "0" } });

describe("bundle paths", () => {
  it("plc ship @host --image-archive ships the bundle plc build writes (image.tar once)", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "plc-paths-"));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const archive = join(FIXTURES, "image-archive", "app.tar");
    const args = ["image=betagouv/mrs:master", "env.SECRET_KEY=x", "--image-archive", archive];
    const built = plc(["build", "-o", "dist", ...args], dir);
    assert.equal(built.status, 0, built.stderr);
    const fileName = readdirSync(join(dir, "dist")).find((name) => name.endsWith(".tar.gz")) ?? "";
    const shipped = plc(["ship", "@example.invalid", ...args, "--dry-run"], dir);
    assert.equal(shipped.status, 0, shipped.stderr);
    assert.match(shipped.stdout, new RegExp(`bundle\\.tar\\.gz ${fileName.replace(/\./g, "\\.")} \\(built now\\)`), "the same id as plc build's");
  });

  it("pack refuses a path given twice (a rendered file and an extra file)", () => {
    const compiled = compileFixture(readFixture("image-archive"));
    const image = compiled.bundle.streamed?.find((file) => file.path === "image.tar");
    assert.ok(image !== undefined, "the fixture renders image.tar");
    assert.throws(() => packBundle(compiled.spec, compiled.bundle, { plcVersion: "0", mtime: 0, extraFiles: [{ ...image, content: "x" }] }), /twice: image\.tar/);
    assert.throws(() => packBundle(compiled.spec, compiled.bundle, { plcVersion: "0", mtime: 0, streamedFiles: [image] }), /twice: image\.tar/);
  });

  it("plc verify refuses a MANIFEST.json that lists a path twice", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "plc-paths-"));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const compiled = compileFixture(readFixture("bare-image"));
    const twice = withManifestEdited(tgzBytes(compiled.packed), compiled.bundle.root, (manifest) => {
      const files = manifest["files"] as { path: string }[];
      files.push({ ...(files.find((file) => file.path === "install.sh") ?? { path: "install.sh" }) });
    });
    writeFileSync(join(dir, "twice.tar.gz"), twice);
    const verified = plc(["verify", "twice.tar.gz"], dir);
    assert.equal(verified.status, 1);
    assert.match(verified.stderr, /MANIFEST\.json lists install\.sh twice/);
  });
});
