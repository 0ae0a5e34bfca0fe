// Sending only the image layers a host lacks, without an engine: image.parts from real tar archives
// (docker-save and OCI layouts), which layers a host's stacks let plc leave out (a property), and the
// layered stream read back with GNU tar and sha256sum. test/engine/layers.test.ts proves it on dockerd.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import fc from "fast-check";
import { readImageArchive } from "../compiler/load/image.js";
import { layersHeld, parseImageParts, partsToSend, type ImagePart } from "../compiler/ship/layers.js";
import { readShipment } from "../compiler/ship/shipment.js";
import { layeredChunks, planLayers } from "../compiler/ship/transport.js";
import { CLI, ROOT } from "./fixtures.js";
import { requireTool, runTool } from "./tools.js";
import { spawnSync } from "node:child_process";

const sha = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "plc-layers-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A real layer tar holding one file, made by GNU tar. */
function layerTar(dir: string, name: string, content: string): Buffer {
  const tree = join(dir, `tree-${name}`);
  mkdirSync(tree);
  writeFileSync(join(tree, name), content);
  const file = join(dir, `${name}.layer.tar`);
  assert.equal(runTool("tar", ["--mtime=@0", "--owner=0", "--group=0", "-cf", file, "-C", tree, name]).status, 0);
  return readFileSync(file);
}

/** A docker-save archive (docker.io 20.10's layout: `<id>/layer.tar`, `<sha>.json`, manifest.json, repositories). */
function dockerSave(dir: string, ref: string, layers: Buffer[], options: { diffIds?: string[]; link?: boolean } = {}): string {
  const root = join(dir, `save-${sha(ref).slice(0, 8)}`);
  mkdirSync(root);
  const paths: string[] = [];
  for (const [index, layer] of layers.entries()) {
    const id = sha(`${ref}:${String(index)}`);
    mkdirSync(join(root, id));
    if (options.link === true && index > 0) symlinkSync(`../${paths[0] ?? ""}`, join(root, id, "layer.tar"));
    else writeFileSync(join(root, id, "layer.tar"), layer);
    writeFileSync(join(root, id, "VERSION"), "1.0");
    paths.push(`${id}/layer.tar`);
  }
  const config = JSON.stringify({ config: { Env: ["A=1"] }, rootfs: { type: "layers", diff_ids: options.diffIds ?? layers.map((layer) => `sha256:${sha(layer)}`) } });
  writeFileSync(join(root, `${sha(config)}.json`), config);
  writeFileSync(join(root, "manifest.json"), JSON.stringify([{ Config: `${sha(config)}.json`, RepoTags: [ref], Layers: paths }]));
  writeFileSync(join(root, "repositories"), "{}");
  const archive = join(dir, `${sha(ref).slice(0, 8)}.tar`);
  assert.equal(runTool("tar", ["-cf", archive, "-C", root, ...readdirSync(root).sort()]).status, 0);
  return archive;
}

describe("image.parts", () => {
  it("lists the layers first in the order docker load stacks them, each by its diff ID, then every other file by path", (t) => {
    if (!requireTool(t, "tar")) return;
    const dir = scratch(t);
    const base = layerTar(dir, "base", "base layer\n");
    const top = layerTar(dir, "top", "top layer\n");
    const text = readImageArchive(dockerSave(dir, "app:v2", [base, top]), dir).parts;
    assert.ok(text !== undefined);
    const parts = parseImageParts(text);
    assert.ok(parts !== undefined, text);
    assert.deepEqual(
      parts.filter((part) => part.isLayer).map((part) => part.sha256),
      [sha(base), sha(top)],
    );
    const files = parts.filter((part) => !part.isLayer).map((part) => part.path);
    assert.deepEqual(files, [...files].sort());
    assert.ok(files.includes("manifest.json") && files.includes("repositories"));
    assert.equal(parts.find((part) => part.sha256 === sha(top))?.size, top.length);
  });

  it("is left out when the image cannot travel layer by layer: a layer whose sha256 is not its diff ID, or a linked layer", (t) => {
    if (!requireTool(t, "tar")) return;
    const dir = scratch(t);
    const base = layerTar(dir, "base", "base\n");
    // An OCI blob gzip-compressed: its digest is not the diff ID, so the host could not prove it has it.
    assert.equal(readImageArchive(dockerSave(dir, "app:gz", [base], { diffIds: [`sha256:${sha("something else")}`] }), dir).parts, undefined);
    // docker save links a layer repeated in one image: install.sh accepts regular files only.
    assert.equal(readImageArchive(dockerSave(dir, "app:link", [base, base], { link: true }), dir).parts, undefined);
    // The fixture's OCI layout (blobs/sha256/…) with uncompressed layers does travel layer by layer.
    assert.ok(readImageArchive(join(ROOT, "fixtures", "image-archive", "app.tar"), dir).parts?.startsWith("layer "));
  });

  it("reads back only as load writes it: a layer after a file or a path install.sh cannot check is refused", () => {
    const line = (kind: string, path: string): string => `${kind} ${"a".repeat(64)} 10 ${path}\n`;
    assert.equal(parseImageParts(line("layer", "x/layer.tar") + line("file", "manifest.json"))?.length, 2);
    assert.equal(parseImageParts(line("file", "manifest.json") + line("layer", "x/layer.tar")), undefined);
    assert.equal(parseImageParts(line("file", "a b")), undefined);
    assert.equal(parseImageParts(line("file", "../x")), undefined);
    assert.equal(parseImageParts(line("file", "a/.hidden")), undefined);
  });
});

describe("which layers a host holds", () => {
  const part = (sha256: string): ImagePart => ({ isLayer: true, sha256, size: 1, path: `${sha256}/layer.tar` });
  const hex = fc.constantFrom(..."abcdef".split("").map((letter) => letter.repeat(64)));

  it("is the longest run of the image's bottom layers that begins one image's stack on the host", () => {
    fc.assert(
      fc.property(fc.array(hex, { maxLength: 6 }), fc.array(fc.array(hex, { maxLength: 6 }), { maxLength: 4 }), (layers, stacks) => {
        const parts = layers.map(part);
        const held = layersHeld(parts, stacks);
        // Those layers begin some stack (docker load reuses them: same chain ID) ...
        if (held > 0) assert.ok(stacks.some((stack) => layers.slice(0, held).every((layer, index) => stack[index] === layer)));
        // ... and no stack holds one more of them.
        assert.ok(!stacks.some((stack) => held < layers.length && layers.slice(0, held + 1).every((layer, index) => stack[index] === layer)));
        // Only those layers stay out of the stream.
        assert.deepEqual(partsToSend(parts, held), parts.slice(held));
      }),
    );
  });

  it("counts a layer the host has on another base for nothing", () => {
    const [a, b, c] = ["a", "b", "c"].map((letter) => letter.repeat(64));
    assert.equal(layersHeld([a, b].map((layer) => part(layer ?? "")), [[c ?? "", b ?? ""]]), 0);
    assert.equal(planLayers([a, b].map((layer) => part(layer ?? "")), [`sha256:${a ?? ""} sha256:${c ?? ""} `]).held, 1);
  });
});

it("the layered stream: the parts but the layers held, the bundle without image.tar, END that sha256sum checks", async (t) => {
  if (!requireTool(t, "tar", "sha256sum")) return;
  const dir = scratch(t);
  const base = layerTar(dir, "base", "base layer\n".repeat(1000));
  const top = layerTar(dir, "top", "top layer\n");
  const archive = dockerSave(dir, "app:v2", [base, top]);
  const built = spawnSync(process.execPath, [CLI, "build", "-o", join(dir, "dist"), "--image-archive", archive, "image=app:v2"], { encoding: "utf8" });
  assert.equal(built.status, 0, built.stderr);
  const tarball = join(dir, "dist", readdirSync(join(dir, "dist")).find((file) => file.endsWith(".tar.gz")) ?? "");
  writeFileSync(join(dir, "given.secrets.env"), "SECRET_KEY='s3cret'\n");
  const shipment = await readShipment(tarball, join(dir, "given.secrets.env"), dir);
  assert.ok(shipment.imageParts !== undefined);
  const plan = planLayers(shipment.imageParts, [`sha256:${sha(base)} sha256:${sha("other")} `]);
  assert.equal(plan.held, 1);
  const chunks: Buffer[] = [];
  for await (const chunk of layeredChunks(shipment, plan.send)) chunks.push(chunk);
  const stream = Buffer.concat(chunks);
  assert.equal(stream.length % (20 * 512), 0, "whole tar records");
  mkdirSync(join(dir, "got"));
  writeFileSync(join(dir, "stream.tar"), stream);
  assert.equal(runTool("tar", ["-xf", join(dir, "stream.tar"), "-C", join(dir, "got")]).status, 0);
  const check = runTool("sh", ["-c", `cd ${join(dir, "got")} && sha256sum -c --strict END`]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /bundle\.tar\.gz: OK/);
  assert.match(check.stdout, /secrets\.env: OK/);
  // The base layer stayed behind; the top one and every other file of the archive came.
  const sent = runTool("sh", ["-c", `cd ${join(dir, "got", "image")} && find . -type f | sed 's#^\\./##' | sort`]).stdout.trim().split("\n");
  assert.deepEqual(sent, plan.send.map((item) => item.path).sort());
  assert.ok(!sent.some((path) => readFileSync(join(dir, "got", "image", path)).equals(base)));
  // The bundle sent is the built one without image.tar, every other entry byte for byte.
  const list = (file: string): string => runTool("tar", ["-tvzf", file]).stdout;
  const original = list(tarball).split("\n").filter((line) => !/\/image\.tar$/.test(line));
  assert.deepEqual(list(join(dir, "got", "bundle.tar.gz")).split("\n"), original);
  const root = shipment.root;
  assert.equal(
    runTool("tar", ["-xOzf", join(dir, "got", "bundle.tar.gz"), `${root}/image.parts`]).stdout,
    runTool("tar", ["-xOzf", tarball, `${root}/image.parts`]).stdout,
  );
});
