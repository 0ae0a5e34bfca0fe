// Every built-in plugin's hooks, rendered on their own and all together (fixture or not), are POSIX
// sh: shellcheck -s sh finds nothing, dash -n and busybox sh -n parse them. A bashism in a new plugin
// fails here even before anyone writes a fixture for it.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { compileBundle } from "../compiler/index.js";
import { readPlugins } from "../compiler/load/plugins.js";
import type { PluginDefinition } from "../compiler/types.js";
import { ROOT } from "./fixtures.js";
import { requireTool, runTool } from "./tools.js";

/** A value for each variable a built-in plugin requires; a new required variable needs one here. */
const SAMPLES: Record<string, string> = {
  sentry_dsn: "https://public@sentry.example.com/1",
};

const plugins = readPlugins([], ROOT);
const byName = new Map(plugins.map((plugin) => [plugin.name, plugin]));

/** The plugin with what it requires, requirements first. */
function withRequirements(plugin: PluginDefinition): string[] {
  const names: string[] = [];
  const visit = (name: string): void => {
    if (names.includes(name)) return;
    for (const required of byName.get(name)?.requires ?? []) visit(required);
    names.push(name);
  };
  visit(plugin.name);
  return names;
}

/** Renders the bundle for these plugins and returns the paths of its hooks, written to `dir`. */
function renderHooks(names: readonly string[], dir: string): string[] {
  const required = names.flatMap((name) => byName.get(name)?.required ?? []);
  for (const variable of required) assert.ok(SAMPLES[variable] !== undefined, `add a sample value for ${variable} to SAMPLES`);
  const words = ["image=app:1", "backup_password=pw", "dns=app.example.com", ...required.map((variable) => `${variable}=${SAMPLES[variable] ?? ""}`)];
  const compiled = compileBundle(
    { words: words.map((text, index) => ({ text, index: index + 1 })), plugins: [{ text: names.join(","), index: words.length + 2 }], inventoryDir: undefined, vaultPasswordFiles: [], pluginsDirs: [], imageArchive: undefined, cwd: dir },
    { plcVersion: "0", mtime: 0 },
  );
  const hooks: string[] = [];
  for (const file of compiled.packed.files) {
    if (!file.path.startsWith("hooks/")) continue;
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
    hooks.push(path);
  }
  return hooks;
}

describe("built-in plugin hooks", () => {
  const sets = [...plugins.map((plugin) => withRequirements(plugin)), plugins.map((plugin) => plugin.name)];
  for (const names of sets) {
    it(`${names.join(",")}: every hook passes shellcheck -s sh, dash -n, busybox sh -n`, (t) => {
      if (!requireTool(t, "shellcheck", "dash", "busybox")) return;
      const dir = mkdtempSync(join(tmpdir(), "plc-plugin-hooks-"));
      t.after(() => {
        rmSync(dir, { recursive: true, force: true });
      });
      const hooks = renderHooks(names, dir);
      const own = byName.get(names.at(-1) ?? "")?.hooks.size ?? 0;
      assert.ok(hooks.length >= own, `${names.join(",")}: its ${own} hooks are rendered`);
      if (hooks.length === 0) return;
      const check = runTool("shellcheck", ["-s", "sh", "-S", "style", ...hooks]);
      assert.equal(check.status, 0, `shellcheck findings:\n${check.stdout}${check.stderr}`);
      for (const hook of hooks) {
        assert.equal(runTool("dash", ["-n", hook]).status, 0, `dash -n ${hook}`);
        assert.equal(runTool("busybox", ["sh", "-n", hook]).status, 0, `busybox sh -n ${hook}`);
      }
    });
  }

  it("the list of built-in plugins is the plugins/ folder (a new one is covered without editing this test)", () => {
    assert.ok(plugins.length >= 4);
    assert.ok(plugins.every((plugin) => !plugin.name.startsWith("_")));
  });
});
