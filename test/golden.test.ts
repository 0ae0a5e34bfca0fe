// Each fixture renders to a tree compared file by file with golden/<case>/.
// UPDATE_GOLDEN=1 rewrites the trees; FILTER=<case> runs one; a mismatch prints a unified diff.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, it } from "node:test";
import { compileFixture, fixtureNames, GOLDEN, readFixture, ROOT } from "./fixtures.js";

const isUpdate = process.env["UPDATE_GOLDEN"] === "1";
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
      const actualDir = join(ROOT, ".golden-actual", name);
      const goldenDir = join(GOLDEN, name);
      rmSync(actualDir, { recursive: true, force: true });
      for (const file of compiled.packed.files) {
        mkdirSync(dirname(join(actualDir, file.path)), { recursive: true });
        writeFileSync(join(actualDir, file.path), file.content);
      }
      if (isUpdate) {
        rmSync(goldenDir, { recursive: true, force: true });
        for (const file of compiled.packed.files) {
          mkdirSync(dirname(join(goldenDir, file.path)), { recursive: true });
          writeFileSync(join(goldenDir, file.path), file.content);
        }
      }
      const expected = listFiles(goldenDir);
      const actual = compiled.packed.files.map((file) => file.path).sort();
      assert.deepEqual(actual, expected, `file list of ${name} differs from golden/${name} (UPDATE_GOLDEN=1 npm test to accept)`);
      const diffs: string[] = [];
      for (const path of actual) {
        const want = readFileSync(join(goldenDir, path));
        const got = readFileSync(join(actualDir, path));
        if (!want.equals(got)) diffs.push(unifiedDiff(join(goldenDir, path), join(actualDir, path)));
      }
      assert.equal(diffs.length, 0, `golden/${name} differs (UPDATE_GOLDEN=1 npm test to accept):\n${diffs.join("\n")}`);

      // Intent that survives regeneration.
      const byPath = new Map(compiled.packed.files.map((file) => [file.path, file.content.toString()]));
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
