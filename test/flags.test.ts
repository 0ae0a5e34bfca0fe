// The command line's flags mean one thing each: -o/--out-dir is where build and render write, -o on
// ship and diff is ssh's own; old spellings keep working with a note.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CLI } from "./fixtures.js";
import { runTool } from "./tools.js";

const plc = (args: readonly string[], cwd: string) => runTool(process.execPath, [CLI, ...args], { cwd });

test("plc render takes --out-dir like plc build; --output still works, with a note", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "plc-flags-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const long = plc(["render", "--out-dir", "tree", "image=nginx:1"], dir);
  assert.equal(long.status, 0, long.stderr);
  assert.ok(existsSync(join(dir, "tree", "install.sh")));
  assert.doesNotMatch(long.stderr, /note:/);

  const old = plc(["render", "--output", "old", "image=nginx:1"], dir);
  assert.equal(old.status, 0, old.stderr);
  assert.ok(existsSync(join(dir, "old", "install.sh")));
  assert.match(old.stderr, /note: plc render --output is now --out-dir/);

  const none = plc(["render", "image=nginx:1"], dir);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /error\[render-needs-dir\]: plc render needs a directory to write/);

  const built = plc(["build", "--out-dir", "dist", "image=nginx:1"], dir);
  assert.equal(built.status, 0, built.stderr);
  assert.match(built.stdout, /^dist\/project-staging-[0-9a-f]{12}\.tar\.gz$/m);
});

test("on plc ship, -o stays ssh's option", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "plc-flags-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const dry = plc(["ship", "@example.invalid", "image=nginx:1", "-o", "ConnectTimeout=7", "--dry-run"], dir);
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, / -o ConnectTimeout=7 -o StrictHostKeyChecking=yes /);
});
