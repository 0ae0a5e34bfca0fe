// diffManifests: the pure comparison behind plc diff, on manifests of real fixture builds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { diffManifests, formatManifestDiff } from "../compiler/diff.js";
import { isManifest, parseManifest } from "../compiler/load/bundle.js";
import type { Manifest } from "../compiler/types.js";
import { compileFixture, readFixture } from "./fixtures.js";

const base: Manifest = compileFixture(readFixture("inventory-production")).packed.manifest;

function changed(edit: (manifest: Manifest) => void): Manifest {
  const copy = structuredClone(base);
  edit(copy);
  copy.id = "f".repeat(64);
  return copy;
}

test("a manifest against itself: the same, nothing listed", () => {
  const diff = diffManifests(base, structuredClone(base));
  assert.equal(diff.isSame, true);
  assert.deepEqual([diff.values, diff.lists, diff.files], [[], [], []]);
  assert.match(formatManifestDiff(diff, "here"), /the bundle is the same/);
});

test("files: added, removed, modified by sha256, mode-only changes apart; sorted by path", () => {
  const bundle = changed((manifest) => {
    manifest.files = manifest.files
      .filter((file) => file.path !== "env")
      .map((file) => (file.path === "install.sh" ? { ...file, sha256: "0".repeat(64) } : file))
      .map((file) => (file.path === "uninstall.sh" ? { ...file, mode: "0644" } : file));
    manifest.files.push({ path: "backup.sh", mode: "0755", sha256: "1".repeat(64) });
  });
  const diff = diffManifests(base, bundle);
  assert.equal(diff.isSame, false);
  assert.deepEqual(
    diff.files.map((change) => [change.kind, change.path]),
    [
      ["added", "backup.sh"],
      ["removed", "env"],
      ["modified", "install.sh"],
      ["mode", "uninstall.sh"],
    ],
  );
  const text = formatManifestDiff(diff, "here");
  assert.match(text, /^ {2}mode {6}uninstall\.sh \(0755 -> 0644\)$/m);
  assert.match(text, /files: 1 added, 1 removed, 2 modified/);
});

test("values: image, plc version, inputs digest; plugins in order; secrets by name only", () => {
  const bundle = changed((manifest) => {
    manifest.image = "yourimage:next";
    manifest.plc = "9.9.9";
    manifest.inputsDigest = "2".repeat(64);
    manifest.plugins = ["postgres", "django"];
    manifest.secrets = ["SECRET_KEY"];
  });
  const installed = structuredClone(base);
  installed.secrets = ["OLD_KEY"];
  const diff = diffManifests(installed, bundle);
  assert.deepEqual(
    diff.values.map((change) => change.name),
    ["image", "plc", "inputsDigest"],
  );
  assert.deepEqual(
    diff.lists.map((change) => [change.name, change.added, change.removed]),
    [
      ["plugins", ["postgres", "django"], []],
      ["secrets", ["SECRET_KEY"], ["OLD_KEY"]],
    ],
  );
  const text = formatManifestDiff(diff, "here");
  assert.match(text, /^ {2}secrets +\+SECRET_KEY -OLD_KEY$/m);
  assert.match(text, /^ {2}plugins +\(none\) -> postgres,django$/m);

  const reordered = diffManifests(changed((m) => (m.plugins = ["a", "b"])), changed((m) => (m.plugins = ["b", "a"])));
  assert.deepEqual(
    reordered.lists.map((change) => [change.name, change.added, change.removed]),
    [["plugins", [], []]],
    "a new order adds nothing but is still a change",
  );
});

test("parseManifest names what a broken manifest lacks", () => {
  assert.ok(isManifest(parseManifest(JSON.stringify(base))));
  const broken = parseManifest(JSON.stringify({ ...base, image: 3, files: [{ path: "x" }] }));
  assert.ok(!isManifest(broken));
  assert.match(broken.problem, /image.*files/);
  const notJson = parseManifest("{");
  assert.ok(!isManifest(notJson) && notJson.problem.startsWith("not JSON"));
});
