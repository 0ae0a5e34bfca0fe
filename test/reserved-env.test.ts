// The env keys refused because plc's scripts would read them: one list, checked against the templates.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { reservedEnvKey, reservedEnvPattern, SCRIPT_VARIABLES } from "../compiler/validate/reserved.js";
import { ROOT } from "./fixtures.js";

/** Shell variables a template reads or sets: $name, ${name…}, name=, for name in, read name… (EJS tags and comments left out). */
function shellVariables(source: string): Set<string> {
  const shell = source
    .replace(/<%[\s\S]*?%>/g, " ")
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n");
  const names = new Set<string>();
  const patterns = [
    /\$\{?([A-Za-z_][A-Za-z0-9_]*)/g,
    /(?:^|[;&|(){]|\bthen|\bdo|\belse|\bexport|\blocal|\breadonly)\s*([A-Za-z_][A-Za-z0-9_]*)=/gm,
    /\bfor\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b/g,
  ];
  for (const pattern of patterns) for (const match of shell.matchAll(pattern)) names.add(match[1] ?? "");
  for (const match of shell.matchAll(/\bread\s+(?:-r\s+)?([A-Za-z_][A-Za-z0-9_ ]*)/g)) {
    for (const name of (match[1] ?? "").trim().split(/\s+/)) names.add(name);
  }
  return names;
}

function scriptTemplates(): string[] {
  const templates = join(ROOT, "compiler", "render", "templates");
  const files = readdirSync(templates)
    .filter((file) => file.endsWith(".sh.ejs") || file === "env.ejs" || file === "secrets.keys.ejs")
    .map((file) => join(templates, file));
  const plugins = join(ROOT, "plugins");
  for (const plugin of readdirSync(plugins)) {
    if (plugin.startsWith("_")) continue;
    for (const file of readdirSync(join(plugins, plugin))) if (file.endsWith(".ejs")) files.push(join(plugins, plugin, file));
  }
  return files;
}

describe("reserved env keys", () => {
  it("every lowercase shell variable of the scripts and built-in hooks is in SCRIPT_VARIABLES", () => {
    const missing = new Map<string, string>();
    for (const file of scriptTemplates()) {
      for (const name of shellVariables(readFileSync(file, "utf8"))) {
        if (/^[a-z_][a-z0-9_]*$/.test(name) && !(SCRIPT_VARIABLES as readonly string[]).includes(name)) missing.set(name, file);
      }
    }
    assert.deepEqual([...missing], [], "add these to SCRIPT_VARIABLES in compiler/validate/reserved.ts");
  });

  it("the scripts' own upper-case variables (PATH, IFS, PLC_*, RESTIC_*, LFTP_*) are refused too", () => {
    const own = new Set<string>();
    for (const file of scriptTemplates()) {
      for (const name of shellVariables(readFileSync(file, "utf8"))) if (/^(PATH|IFS|HOME|TMPDIR|PLC_|RESTIC_|LFTP_)/.test(name)) own.add(name);
    }
    assert.ok(own.has("PLC_BACKUP_PASSWORD") && own.has("PATH"), "the scan finds them");
    for (const name of own) assert.notEqual(reservedEnvKey(name), undefined, name);
  });

  it("the schema pattern and the function refuse the same keys, and ordinary app keys pass", () => {
    const pattern = new RegExp(reservedEnvPattern());
    const keys = [...SCRIPT_VARIABLES, "PATH", "IFS", "HOME", "TMPDIR", "ENV", "PS4", "PLC_X", "RESTIC_PASSWORD", "LFTP_X", "LD_PRELOAD", "DOCKER_HOST", "__proto__"];
    const ordinary = ["SECRET_KEY", "DATABASE_URL", "DOCKER_IMAGE_TAG", "homepage", "names", "LANG", "TZ", "PATHS", "my_home"];
    for (const key of keys) {
      assert.notEqual(reservedEnvKey(key), undefined, key);
      assert.ok(pattern.test(key), key);
    }
    for (const key of ordinary) {
      assert.equal(reservedEnvKey(key), undefined, key);
      assert.ok(!pattern.test(key), key);
    }
  });
});
