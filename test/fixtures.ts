// Fixture cases: fixtures/<case>/case.json (argv, optional inventory and plugin dirs) compiled in-process.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileBundle, type Compiled } from "../compiler/index.js";
import type { LoadOptions } from "../compiler/load/index.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const FIXTURES = join(ROOT, "fixtures");
export const GOLDEN = join(ROOT, "golden");
/** The shipped CLI, as `bin` names it: the bundle `npm run build` makes. */
export const CLI = join(ROOT, "build", "bundle", "plc.cjs");

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

/**
 * The review record of a fixture (fixtures/<case>/reviewed.json): for each golden file, the sha256 of
 * its content and of its expect lines when someone last looked at both. A golden file whose content
 * changed while its expect lines did not is unreviewed: the golden test fails until an expect line
 * of that file states the change's intent (or UPDATE_GOLDEN=force says there is none to state).
 */
export type Reviewed = Record<string, { golden: string; expect: string }>;

export function reviewedPath(name: string): string {
  return join(FIXTURES, name, "reviewed.json");
}

export function readReviewed(name: string): Reviewed {
  const path = reviewedPath(name);
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Reviewed) : {};
}

function digest(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex").slice(0, 16);
}

/** The expect lines of one file, as one digest (none: the digest of an empty list). */
export function expectDigest(fixture: FixtureCase, path: string): string {
  return digest(JSON.stringify(fixture.expect?.[path] ?? []));
}

/**
 * What UPDATE_GOLDEN may record: a changed file is accepted when its expect lines changed since the
 * last review (or `isForced`, or the fixture was never reviewed); the others are refused.
 */
export function review(fixture: FixtureCase, previous: Reviewed, files: ReadonlyMap<string, Buffer | string>, isForced: boolean): { reviewed: Reviewed; refused: string[] } {
  const reviewed: Reviewed = {};
  const refused: string[] = [];
  const isFirst = Object.keys(previous).length === 0;
  for (const [path, content] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const now = { golden: digest(content), expect: expectDigest(fixture, path) };
    const before = previous[path];
    if (before === undefined || before.golden === now.golden || before.expect !== now.expect || isForced || isFirst) {
      reviewed[path] = before !== undefined && before.golden === now.golden ? { golden: now.golden, expect: now.expect } : now;
    } else {
      reviewed[path] = before;
      refused.push(path);
    }
  }
  return { reviewed, refused };
}

/** Golden files whose content is not the one last reviewed. */
export function unreviewed(previous: Reviewed, files: ReadonlyMap<string, Buffer | string>): string[] {
  return [...files].filter(([path, content]) => previous[path] !== undefined && previous[path].golden !== digest(content)).map(([path]) => path);
}
