// The env keys refused because the docker client or the shell would act on them, and the structure
// that makes the scripts' own variables safe: env and secrets files are sourced only in subshells.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { reservedEnvKey, reservedEnvPattern } from "../compiler/validate/reserved.js";
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
  // install.sh's partials (install/*.sh.ejs) included.
  const files = readdirSync(templates, { recursive: true, encoding: "utf8" })
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
  it("the scripts source the env and secrets files only in a subshell: a key never reassigns their variables", () => {
    const outside: string[] = [];
    for (const file of scriptTemplates()) {
      let depth = 0;
      for (const [index, raw] of readFileSync(file, "utf8").split("\n").entries()) {
        const line = raw.replace(/<%[\s\S]*?%>/g, "x").replace(/#.*$/, "");
        // A subshell opens with a line ending in "(" (or "( set -a"), and closes with a line starting ")".
        if (/^\s*\)/.test(line)) depth--;
        const sources = /(^|[;&|]|\bthen)\s*\.\s+"/.test(line) && !/\(\s*\.\s/.test(line);
        // Hooks and the prep bundle's own scripts ("$bundle/…", checked against its SHA256SUMS) are code, not env files.
        const isCode = /run_hook|\$hook"/.test(line) || line.includes('. "$hook"') || line.includes('. "$bundle/');
        if (sources && depth <= 0 && !isCode) outside.push(`${file}:${String(index + 1)}: ${raw.trim()}`);
        if (/\(\s*$/.test(line)) depth++;
      }
    }
    assert.deepEqual(outside, [], "source these inside ( … ) or read one value with secret_value");
  });

  it("a known leak is caught: sourcing the secrets at the top of a script", () => {
    const line = '. "$home/.secrets.env"';
    assert.ok(/(^|[;&|]|\bthen)\s*\.\s+"/.test(line));
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
    const keys = ["PATH", "IFS", "HOME", "TMPDIR", "ENV", "PS4", "PLC_X", "RESTIC_PASSWORD", "LFTP_X", "LD_PRELOAD", "DOCKER_HOST", "__proto__"];
    const ordinary = ["SECRET_KEY", "DATABASE_URL", "DOCKER_IMAGE_TAG", "homepage", "names", "LANG", "TZ", "PATHS", "my_home", "home", "name", "user"];
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
