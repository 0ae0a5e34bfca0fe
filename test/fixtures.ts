// Fixture cases: fixtures/<case>/case.json (argv, optional inventory and plugin dirs) compiled in-process.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileBundle, type Compiled } from "../compiler/index.js";
import type { LoadOptions } from "../compiler/load/index.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const FIXTURES = join(ROOT, "fixtures");
export const GOLDEN = join(ROOT, "golden");
export const CLI = join(ROOT, "build", "compiler", "cli.js");

export interface FixtureCase {
  name: string;
  description: string;
  args: string[];
  inventory?: string;
  /** `-p` values. */
  plugins?: string[];
  pluginsDirs?: string[];
  imageArchive?: string;
  /** file -> lines it must contain (Quadlet-style intent that survives regeneration). */
  expect?: Record<string, string[]>;
  /** paths (files or folders) that must not be in the bundle. */
  absent?: string[];
  /** values that must never appear in the tarball. */
  secrets?: string[];
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((name) => existsSync(join(FIXTURES, name, "case.json")))
    .sort();
}

export function readFixture(name: string): FixtureCase {
  const raw = JSON.parse(readFileSync(join(FIXTURES, name, "case.json"), "utf8")) as Omit<FixtureCase, "name">;
  return { name, ...raw };
}

/** The LoadOptions the CLI would build for `plc build <args>` run inside the fixture folder. */
export function fixtureOptions(fixture: FixtureCase): LoadOptions {
  const dir = join(FIXTURES, fixture.name);
  return {
    words: fixture.args.map((text, index) => ({ text, index: index + 1 })),
    plugins: (fixture.plugins ?? []).map((text, index) => ({ text, index: fixture.args.length + 2 * index + 2 })),
    inventoryDir: fixture.inventory === undefined ? undefined : join(dir, fixture.inventory),
    vaultPasswordFiles: [],
    pluginsDirs: (fixture.pluginsDirs ?? []).map((plugins) => join(dir, plugins)),
    imageArchive: fixture.imageArchive === undefined ? undefined : join(dir, fixture.imageArchive),
    cwd: dir,
  };
}

export function compileFixture(fixture: FixtureCase): Compiled {
  return compileBundle(fixtureOptions(fixture), { plcVersion: "0.0.0-test", mtime: 0 });
}
