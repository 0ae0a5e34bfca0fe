// The validators npm run build compiles ahead of time (validate/precompiled.ts): one for every set of
// built-in plugins, and each gives what ajv compiling the schema now gives, errors and defaults alike.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { loadSpec } from "../compiler/load/index.js";
import { BUILT_IN_PLUGINS_FILE, PLUGIN_AJV_OPTIONS, readPluginManifestSchema, readPlugins } from "../compiler/load/plugins.js";
import { resolveSpec } from "../compiler/resolve/index.js";
import { loadValidator, newAjv, validatorFile, validatorKey } from "../compiler/precompiled.js";
import { PROJECT_AJV_OPTIONS, PROJECT_FORMATS, schemaFor } from "../compiler/validate/index.js";
import type { PluginDefinition } from "../compiler/types.js";
import { fixtureNames, fixtureOptions, readFixture, ROOT } from "./fixtures.js";

const byName = (plugins: readonly PluginDefinition[]): PluginDefinition[] => [...plugins].sort((a, b) => (a.name < b.name ? -1 : 1));

describe("built-in plugins stored by the build", () => {
  it("are what reading their folders gives, field by field (paths from this package)", () => {
    assert.ok(existsSync(BUILT_IN_PLUGINS_FILE), "npm run build stores the built-in plugins");
    const stored = readPlugins([], ROOT);
    const read = readPlugins([], ROOT, { checkBuiltIn: true });
    assert.ok(read.length >= 4);
    assert.deepEqual(stored, read);
  });

  it("are copies: a plugin marked by one build does not stay marked for the next", () => {
    const first = readPlugins([], ROOT);
    const postgres = first.find((plugin) => plugin.name === "postgres");
    assert.ok(postgres !== undefined);
    postgres.shadows = "/elsewhere/postgres";
    postgres.hooks.clear();
    const again = readPlugins([], ROOT).find((plugin) => plugin.name === "postgres");
    assert.equal(again?.shadows, undefined);
    assert.ok((again?.hooks.size ?? 0) > 0);
  });
});

describe("precompiled validators", () => {
  const builtins = byName(readPlugins([], ROOT));

  it("exist for the plugin manifest schema and every set of built-in plugins", () => {
    assert.ok(existsSync(validatorFile(validatorKey(readPluginManifestSchema(), PLUGIN_AJV_OPTIONS, {}))), "plugin.schema.json");
    for (let mask = 0; mask < 2 ** builtins.length; mask++) {
      const plugins = builtins.filter((_, bit) => (mask & (1 << bit)) !== 0);
      const file = validatorFile(validatorKey(schemaFor(plugins), PROJECT_AJV_OPTIONS, PROJECT_FORMATS));
      assert.ok(existsSync(file), `no precompiled validator for [${plugins.map((p) => p.name).join(",")}]`);
    }
  });

  it("validate each fixture's variables, and broken copies of them, as ajv compiling now does", () => {
    let compared = 0;
    for (const name of fixtureNames()) {
      const fixture = readFixture(name);
      let resolved;
      try {
        resolved = resolveSpec(loadSpec(fixtureOptions(fixture)));
      } catch {
        continue; // a fixture of bad input stops before validation
      }
      const schema = schemaFor(byName(resolved.plugins));
      const file = validatorFile(validatorKey(schema, PROJECT_AJV_OPTIONS, PROJECT_FORMATS));
      if (!existsSync(file)) continue; // an external plugin: compiled at load, nothing to compare
      const precompiled = loadValidator(schema, PROJECT_AJV_OPTIONS, PROJECT_FORMATS);
      const now = newAjv(PROJECT_AJV_OPTIONS, PROJECT_FORMATS).compile(schema);
      const broken: Record<string, unknown>[] = [
        resolved.vars,
        { ...resolved.vars, image: "not an image", port: "eighty", unknown_variable: 1 },
        { ...resolved.vars, dns: ["bad host!"], env: { PATH: "x", "bad-key": 1 } },
        { prefix: 1 },
      ];
      for (const vars of broken) {
        const [a, b] = [structuredClone(vars), structuredClone(vars)];
        assert.equal(precompiled(a), now(b), name);
        assert.deepEqual(precompiled.errors ?? null, now.errors ?? null, name);
        assert.deepEqual(a, b, `${name}: defaults and coercions`);
        compared++;
      }
    }
    assert.ok(compared >= 20, `compared only ${compared}`);
  });
});
