// plc init: the scaffold loads and validates with plc check, names only schema variables, and
// refuses a directory that already holds something.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { CLI } from "./fixtures.js";
import { runTool } from "./tools.js";

const plc = (args: readonly string[], cwd: string) => runTool(process.execPath, [CLI, ...args], { cwd });

test("plc init, then plc check on the result", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "plc-init-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const created = plc(["init", "inventory", "prefix=my-app", "instance=review-42"], dir);
  assert.equal(created.status, 0, created.stderr);
  assert.deepEqual(created.stdout.trim().split("\n").sort(), [
    "inventory/.gitignore",
    "inventory/.plc/variables.schema.json",
    "inventory/group_vars/all/project.yml",
    "inventory/inventory.yaml",
  ]);

  const checked = plc(["check", "-i", "inventory", "prefix=my-app", "instance=review-42"], dir);
  assert.equal(checked.status, 0, checked.stderr);
  const summary = JSON.parse(checked.stdout) as { name: string; values: Record<string, unknown> };
  assert.equal(summary.name, "my-app-review-42");
  assert.equal(summary.values["image"], "registry.example.com/my-app:review-42", "the inventory's image was read");

  const inventory = parse(readFileSync(join(dir, "inventory/inventory.yaml"), "utf8")) as { all: { children: Record<string, unknown> } };
  assert.deepEqual(Object.keys(inventory.all.children), ["my-app-review-42"]);

  const project = readFileSync(join(dir, "inventory/group_vars/all/project.yml"), "utf8");
  assert.match(project, /^# yaml-language-server: \$schema=\.\.\/\.\.\/\.plc\/variables\.schema\.json$/m);
  // Every example, commented or not, names a variable plc knows, under the playlabs prefix.
  const schema = JSON.parse(readFileSync(join(dir, "inventory/.plc/variables.schema.json"), "utf8")) as { properties: Record<string, unknown> };
  const named = [...project.matchAll(/^(?:# )?(my_app_review_42_[a-z_]+):/gm)].map((match) => match[1] ?? "");
  assert.ok(named.length >= 10, named.join(" "));
  for (const name of named) assert.ok(name in schema.properties, `${name} is not in the schema`);
  const projectSchema = JSON.parse(plc(["schema"], dir).stdout) as { properties: Record<string, unknown> };
  assert.deepEqual(schema.properties["my_app_review_42_port"], projectSchema.properties["port"]);

  const ignored = readFileSync(join(dir, "inventory/.gitignore"), "utf8").split("\n");
  assert.ok(ignored.includes("*.secrets.env"));
  assert.ok(ignored.some((line) => line.startsWith(".vault_pass")));
});

test("plc init refuses a non-empty directory and a bad name, writing nothing", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "plc-init-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  mkdirSync(join(dir, "taken"));
  writeFileSync(join(dir, "taken", "inventory.yml"), "all: {}\n");
  const refused = plc(["init", "taken"], dir);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /error\[init-dir-not-empty\]: taken is not empty/);
  assert.deepEqual(readdirSync(join(dir, "taken")), ["inventory.yml"]);

  const badName = plc(["init", "fresh", "instance=feature/login"], dir);
  assert.equal(badName.status, 2);
  assert.match(badName.stderr, /argv\[2\]/, "located at the word");
  assert.match(badName.stderr, /try instance=feature-login/);
  assert.deepEqual(readdirSync(dir), ["taken"]);

  const other = plc(["init", "fresh", "image=nginx"], dir);
  assert.equal(other.status, 2);
  assert.match(other.stderr, /error\[init-operand\]: 'image=nginx' is not a name plc init takes/);
  assert.deepEqual(readdirSync(dir), ["taken"]);

  const oldFlag = plc(["init", "fresh", "--instance", "feature/login"], dir);
  assert.equal(oldFlag.status, 2);
  assert.match(oldFlag.stderr, /try --instance feature-login/, "the old flag still works, and is named as given");

  mkdirSync(join(dir, "empty"));
  const empty = plc(["init", "empty"], dir);
  assert.equal(empty.status, 0, empty.stderr);
  assert.match(readFileSync(join(dir, "empty/group_vars/all/project.yml"), "utf8"), /^project_staging_image: /m, "defaults: project, staging");
});

test("plc init --prefix/--instance (the old spelling) still works, with a note naming the new one", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "plc-init-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const created = plc(["init", "inventory", "--prefix", "my-app", "--instance", "review-42"], dir);
  assert.equal(created.status, 0, created.stderr);
  assert.match(created.stderr, /note: plc init --prefix my-app is now prefix=my-app/);
  assert.match(readFileSync(join(dir, "inventory/group_vars/all/project.yml"), "utf8"), /^my_app_review_42_image: /m);
});
