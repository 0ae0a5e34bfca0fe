// Each fixture renders to a tree compared file by file with golden/<case>/.
// UPDATE_GOLDEN=1 rewrites the trees; FILTER=<case> runs one; a mismatch prints a unified diff.
// A golden file may change only with its intent: UPDATE_GOLDEN=1 records the new content in
// fixtures/<case>/reviewed.json only for files whose expect lines were added or changed alongside;
// UPDATE_GOLDEN=force records every change (a comment or layout change with no behaviour to state).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, it } from "node:test";
import { compileFixture, fixtureNames, GOLDEN, readFixture, readReviewed, review, reviewedPath, ROOT, unreviewed, type FixtureCase } from "./fixtures.js";

const isUpdate = process.env["UPDATE_GOLDEN"] === "1" || process.env["UPDATE_GOLDEN"] === "force";
const isForced = process.env["UPDATE_GOLDEN"] === "force";
const DERIVED = new Set(["MANIFEST.json", "SHA256SUMS"]);
const filter = process.env["FILTER"];

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((path) => statSync(join(dir, path)).isFile())
    .sort();
}

function unifiedDiff(expectedFile: string, actualFile: string): string {
  const result = spawnSync("diff", ["-u", expectedFile, actualFile], { encoding: "utf8" });
  return result.stdout || result.stderr;
}

describe("golden bundles", () => {
  for (const name of fixtureNames().filter((n) => filter === undefined || n === filter)) {
    it(name, () => {
      const fixture = readFixture(name);
      const compiled = compileFixture(fixture);
      // Files pack read from disk (image.tar) are compared with the rest.
      const files = [...compiled.packed.files, ...compiled.packed.streamed.map((file) => ({ ...file, content: readFileSync(file.content.path) }))];
      const actualDir = join(ROOT, ".golden-actual", name);
      const goldenDir = join(GOLDEN, name);
      rmSync(actualDir, { recursive: true, force: true });
      for (const file of files) {
        mkdirSync(dirname(join(actualDir, file.path)), { recursive: true });
        writeFileSync(join(actualDir, file.path), file.content);
      }
      // MANIFEST.json and SHA256SUMS follow from the other files: their review is theirs.
      const contents = new Map(compiled.packed.files.filter((file) => !DERIVED.has(file.path)).map((file) => [file.path, file.content]));
      let refused: string[] = [];
      if (isUpdate) {
        const recorded = review(fixture, readReviewed(name), contents, isForced);
        refused = recorded.refused;
        writeFileSync(reviewedPath(name), JSON.stringify(recorded.reviewed, null, 2) + "\n");
        rmSync(goldenDir, { recursive: true, force: true });
        for (const file of files) {
          mkdirSync(dirname(join(goldenDir, file.path)), { recursive: true });
          writeFileSync(join(goldenDir, file.path), file.content);
        }
      }
      const expected = listFiles(goldenDir);
      const actual = files.map((file) => file.path).sort();
      assert.deepEqual(actual, expected, `file list of ${name} differs from golden/${name} (UPDATE_GOLDEN=1 npm test to accept)`);
      const diffs: string[] = [];
      for (const path of actual) {
        const want = readFileSync(join(goldenDir, path));
        const got = readFileSync(join(actualDir, path));
        if (!want.equals(got)) diffs.push(unifiedDiff(join(goldenDir, path), join(actualDir, path)));
      }
      assert.equal(diffs.length, 0, `golden/${name} differs (UPDATE_GOLDEN=1 npm test to accept):\n${diffs.join("\n")}`);

      // A changed golden file needs an expect line of its own stating the change.
      const stale = [...new Set([...refused, ...unreviewed(readReviewed(name), contents)])];
      const missing = [...contents.keys()].filter((path) => readReviewed(name)[path] === undefined);
      assert.deepEqual(
        stale,
        [],
        `${name}: ${stale.join(", ")} changed but no expect line of theirs did: add or adjust an expect line of each in fixtures/${name}/case.json that states the change, then UPDATE_GOLDEN=1 (UPDATE_GOLDEN=force when there is no behaviour to state)`,
      );
      assert.deepEqual(missing, [], `${name}: ${missing.join(", ")} never reviewed: UPDATE_GOLDEN=1 records them`);

      // Intent that survives regeneration.
      const byPath = new Map(files.map((file) => [file.path, file.content.toString()]));
      for (const [path, lines] of Object.entries(fixture.expect ?? {})) {
        const content = byPath.get(path);
        assert.ok(content !== undefined, `${name}: ${path} is missing`);
        for (const line of lines) assert.ok(content.includes(line), `${name}: ${path} lacks ${JSON.stringify(line)}`);
      }
      for (const path of fixture.absent ?? []) {
        assert.ok(![...byPath.keys()].some((p) => p === path || p.startsWith(`${path}/`)), `${name}: ${path} must not be generated`);
      }
      for (const path of actual) assert.ok(!relative(actualDir, join(actualDir, path)).startsWith(".."));
    });
  }
});

describe("golden review", () => {
  const fixture = (expect: Record<string, string[]>): FixtureCase => ({ name: "x", description: "", args: [], expect });
  const files = (install: string) => new Map([["install.sh", install], ["backup.sh", "b"]]);

  it("refuses a changed golden file whose expect lines did not change, and records one whose did", () => {
    const first = review(fixture({ "install.sh": ["restic unlock"] }), {}, files("restic unlock\nforget"), false);
    assert.deepEqual(first.refused, []);
    const changed = files("forget\nrestic unlock");
    assert.deepEqual(unreviewed(first.reviewed, changed), ["install.sh"]);
    const same = review(fixture({ "install.sh": ["restic unlock"] }), first.reviewed, changed, false);
    assert.deepEqual(same.refused, ["install.sh"], "same expect lines: refused");
    assert.deepEqual(unreviewed(same.reviewed, changed), ["install.sh"], "and still unreviewed");
    const stated = review(fixture({ "install.sh": ["forget\nrestic unlock"] }), first.reviewed, changed, false);
    assert.deepEqual(stated.refused, []);
    assert.deepEqual(unreviewed(stated.reviewed, changed), []);
    const forced = review(fixture({ "install.sh": ["restic unlock"] }), first.reviewed, changed, true);
    assert.deepEqual(forced.refused, []);
    assert.deepEqual(unreviewed(forced.reviewed, changed), []);
  });

  it("an unchanged golden file needs nothing, whatever its expect lines", () => {
    const first = review(fixture({}), {}, files("a"), false);
    const again = review(fixture({ "backup.sh": ["b"] }), first.reviewed, files("a"), false);
    assert.deepEqual(again.refused, []);
  });
});
