// The compiler's modules form no import circle (type-only imports included): phases and commands
// read one way, from the command line down to the phases.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { CODE_CACHE_SUFFIX, PROGRAM_FILE, WRAPPER_HEAD } from "../compiler/code-cache.js";
import { CLI, FIXTURES, ROOT } from "./fixtures.js";

/** Every .ts file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/** Every file under a folder whose name ends in `ext`. */
function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), ext) : entry.name.endsWith(ext) ? [join(dir, entry.name)] : [],
  );
}

const STATIC = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)\.js"/gms;
const DYNAMIC = /\bimport\(\s*"(\.{1,2}\/[^"]+)\.js"\s*\)/g;
const PACKAGE = /^\s*import\b(?!\s+type\b)[^;]*?\bfrom\s+"([^".][^"]*)"/gms;

/** A module's relative imports (`import … from "./x.js"`, `export … from`, and `import("./x.js")` when asked), as paths ending in `ext`. */
function importsOf(file: string, ext = ".ts", isDynamicIncluded = false): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const pattern of isDynamicIncluded ? [STATIC, DYNAMIC] : [STATIC]) {
    for (const match of text.matchAll(pattern)) found.push(resolve(dirname(file), `${match[1] ?? ""}${ext}`));
  }
  return found;
}

/** The modules a file loads before its first line runs: static imports, followed; `import()` is not. */
function staticClosure(file: string): { modules: Set<string>; packages: Set<string> } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const visit = (path: string): void => {
    if (modules.has(path)) return;
    modules.add(path);
    const text = readFileSync(path, "utf8");
    for (const match of text.matchAll(PACKAGE)) packages.add((match[1] ?? "").replace(/^node:/, "node:"));
    for (const next of importsOf(path, ".js")) visit(next);
  };
  visit(file);
  return { modules, packages };
}

const BUNDLE = join(ROOT, "build", "bundle");

/**
 * The sources whose code a run of the shipped plc executed, by V8's coverage of build/bundle/cli.cjs
 * mapped back through cli.cjs.map: what a command costs at start-up, whatever file it was bundled into.
 * esbuild's own helpers map to no source and are left out.
 */
function executedSources(args: readonly string[], cwd: string): Set<string> {
  const coverage = mkdtempSync(join(tmpdir(), "plc-coverage-"));
  try {
    const run = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", env: { ...process.env, NODE_V8_COVERAGE: coverage, PATH: "/nonexistent" } });
    assert.equal(run.status, 0, run.stderr);
    const text = readFileSync(join(BUNDLE, PROGRAM_FILE), "latin1");
    const lineStarts = [0, ...[...text.matchAll(/\n/g)].map((match) => match.index + 1)];
    const map = new SourceMap(JSON.parse(readFileSync(join(BUNDLE, `${PROGRAM_FILE}.map`), "utf8")) as SourceMapPayload);
    const sources = new Set<string>();
    for (const report of readdirSync(coverage)) {
      const { result } = JSON.parse(readFileSync(join(coverage, report), "utf8")) as { result: { url: string; functions: { ranges: { startOffset: number; count: number }[] }[] }[] };
      for (const script of result.filter((entry) => entry.url.endsWith(`/bundle/${PROGRAM_FILE}`))) {
        for (const fn of script.functions) {
          const range = fn.ranges[0];
          // Offsets count from the start of the wrapped text the launcher compiles.
          const offset = (range?.startOffset ?? 0) - WRAPPER_HEAD.length;
          if (range === undefined || range.count === 0 || offset < 0) continue;
          const line = lineStarts.findLastIndex((start) => start <= offset);
          const entry = map.findEntry(line, offset - (lineStarts[line] ?? 0));
          if ("originalSource" in entry) sources.add(relative(ROOT, resolve(BUNDLE, entry.originalSource)));
        }
      }
    }
    assert.ok(sources.has("compiler/cli.ts"), `the coverage names plc's sources: ${[...sources].slice(0, 5).join(" ")}`);
    return sources;
  } finally {
    rmSync(coverage, { recursive: true, force: true });
  }
}

/** The first circle found by a depth-first walk, as a list of modules, or undefined. */
export function findCircle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "open") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const circle = visit(next);
      if (circle !== undefined) return circle;
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    const circle = visit(node);
    if (circle !== undefined) return circle;
  }
  return undefined;
}

describe("imports", () => {
  it("compiler/ has no import circle", () => {
    const graph = new Map(sources(join(ROOT, "compiler")).map((file) => [file, importsOf(file)]));
    const circle = findCircle(graph);
    assert.equal(circle?.map((file) => relative(ROOT, file)).join(" -> "), undefined);
  });

  it("build/compiler has no import circle, lazy import() included", () => {
    const files = filesUnder(join(ROOT, "build", "compiler"), ".js");
    const graph = new Map(files.map((file) => [file, importsOf(file, ".js", true)]));
    assert.ok(files.length > 20, "the build exists");
    const circle = findCircle(graph);
    assert.equal(circle?.map((file) => relative(ROOT, file)).join(" -> "), undefined);
  });

  it("cli.js loads no compiler phase nor their libraries before a command runs (start-up stays small)", () => {
    const { modules, packages } = staticClosure(join(ROOT, "build", "compiler", "cli.js"));
    const loaded = [...modules].map((file) => relative(join(ROOT, "build", "compiler"), file)).sort();
    const heavy = loaded.filter((file) => !file.startsWith("commands/") && !["cli.js", "paths.js", "diagnostics.js", "messages.js"].includes(file));
    assert.deepEqual(heavy, [], "modules a command should import() when it runs");
    assert.deepEqual([...packages].filter((name) => ["ajv", "ejs", "tar", "yaml"].some((heavyName) => name === heavyName || name.startsWith(`${heavyName}/`))), []);
  });

  it("the shipped plc runs, before a command runs, only what cli.js loads", () => {
    const executed = [...executedSources(["--version"], ROOT)].filter((source) => !source.startsWith("node_modules/commander/"));
    const heavy = executed.filter((source) => !/^compiler\/(commands\/[^/]+|cli|paths|diagnostics|messages)\.ts$/.test(source));
    assert.deepEqual(heavy, [], "sources plc --version runs that a command should import() when it runs");
  });

  it("the shipped plc is an executable of its own, as npm links `bin` to it", () => {
    const run = spawnSync(CLI, ["--version"], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it("plc build runs nothing only ship, verify or diff need", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "plc-lazy-"));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const executed = executedSources(["build", "-o", dir, "image=app:1", "prefix=ybs", "instance=hack", "backup_password=x", "env.SECRET_KEY=x", "-p", "postgres,django"], dir);
    assert.ok(executed.has("compiler/pack/index.ts") && executed.has("compiler/write.ts"), "the build ran");
    assert.deepEqual([...executed].filter((source) => /^compiler\/(ship\/(?!self-extracting)|verify\.ts|diff\.ts|diff-site\.ts)/.test(source)), []);
  });

  it("the shipped plc runs its program and validators from the code caches the build wrote, and a cache V8 refuses changes nothing", (t) => {
    // In a process of its own, as plc starts: the program's cache and every precompiled validator's.
    const files = [join(BUNDLE, PROGRAM_FILE), ...filesUnder(join(ROOT, "build", "precompiled", "validate"), ".cjs")];
    const probe = `import { compileCommonJs } from ${JSON.stringify(join(ROOT, "build", "compiler", "code-cache.js"))}; for (const file of ${JSON.stringify(files)}) process.stdout.write(String(compileCommonJs(file).script.cachedDataRejected) + "\\n")`;
    const accepted = spawnSync(process.execPath, ["--input-type=module", "-e", probe], { encoding: "utf8" });
    assert.equal(accepted.stdout, "false\n".repeat(files.length), `V8 took every cache (${String(files.length)} files): ${accepted.stderr}`);
    // A copy whose cache another Node could have written: two folders deep, as PACKAGE_ROOT needs.
    const copy = mkdtempSync(join(ROOT, "build", "bundle-refused-"));
    const out = mkdtempSync(join(tmpdir(), "plc-refused-"));
    t.after(() => {
      rmSync(copy, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    });
    for (const file of readdirSync(BUNDLE)) writeFileSync(join(copy, file), readFileSync(join(BUNDLE, file)));
    writeFileSync(join(copy, PROGRAM_FILE + CODE_CACHE_SUFFIX), Buffer.alloc(statSync(join(BUNDLE, PROGRAM_FILE + CODE_CACHE_SUFFIX)).size, 0x5a));
    const spec = ["prefix=ybs", "instance=hack", "image=app:1", "backup_password=x", "env.SECRET_KEY=x", "-p", "postgres,django"];
    const tarballs = [BUNDLE, copy].map((bundle, index) => {
      const run = spawnSync(process.execPath, [join(bundle, "plc.cjs"), "build", "-o", join(out, String(index)), ...spec], { cwd: out, encoding: "utf8", env: { ...process.env, PATH: "/nonexistent" } });
      assert.equal(run.status, 0, run.stderr);
      const [tarball] = readdirSync(join(out, String(index))).filter((file) => file.endsWith(".tar.gz"));
      return readFileSync(join(out, String(index), tarball ?? ""));
    });
    assert.ok(tarballs[0]?.equals(tarballs[1] ?? Buffer.alloc(0)), "the same tarball with the cache refused");
  });

  it("plc build with built-in plugins loads neither ajv, EJS nor nunjucks; external plugins and templated values do", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "plc-lazy-"));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    /** The packages under node_modules the run loaded with require (the bundle's lazy ones go there). */
    const loaded = (args: string[]): string[] => {
      const report = join(dir, `loaded-${String(Math.random()).slice(2)}`);
      const hook = `data:text/javascript,import{createRequire}from"node:module";import{writeFileSync}from"node:fs";process.on("exit",()=>writeFileSync(${JSON.stringify(report)},Object.keys(createRequire("/plc-lazy.js").cache).join("\\n")))`;
      const run = spawnSync(process.execPath, ["--import", hook, CLI, "build", "-o", join(dir, "out"), ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, PATH: "/nonexistent" } });
      assert.equal(run.status, 0, run.stderr);
      return [...new Set([...readFileSync(report, "utf8").matchAll(/node_modules\/([^/]+)\//g)].map((match) => match[1] ?? ""))].sort();
    };
    const spec = ["image=app:1", "prefix=ybs", "instance=hack", "backup_password=x", "env.SECRET_KEY=x", "-p", "postgres,django,uwsgi,sentry", "sentry_dsn=https://k@sentry.example.com/1"];
    assert.deepEqual(loaded(spec).filter((name) => ["ajv", "ejs", "nunjucks"].includes(name)), []);
    const external = join(FIXTURES, "external-plugin");
    const fixture = JSON.parse(readFileSync(join(external, "case.json"), "utf8")) as { args: string[]; plugins?: string[]; pluginsDirs?: string[] };
    const withExternal = loaded([...fixture.args, ...(fixture.plugins ?? []).flatMap((names) => ["-p", names]), ...(fixture.pluginsDirs ?? []).flatMap((plugins) => ["--plugins-dir", join(external, plugins)])]);
    assert.ok(withExternal.includes("ejs") && withExternal.includes("ajv"), `an external plugin loads EJS and ajv: ${withExternal.join(" ")}`);
    writeFileSync(join(dir, "inventory.yml"), "all:\n  vars:\n    ybs_hack_image: \"app:{{ 1 + 1 }}\"\n");
    assert.ok(loaded(["-i", join(dir, "inventory.yml"), "prefix=ybs", "instance=hack"]).includes("nunjucks"), "a value with {{ loads nunjucks");
  });

  it("every command is a module of its own under compiler/commands/, registered from cli.ts", () => {
    const cli = readFileSync(join(ROOT, "compiler", "cli.ts"), "utf8");
    const modules = readdirSync(join(ROOT, "compiler", "commands")).filter((name) => !["options.ts", "ssh-options.ts", "playlabs-argv.ts", "prep-options.ts"].includes(name));
    for (const name of modules) assert.match(cli, new RegExp(`from "\\./commands/${name.replace(/\.ts$/, "")}\\.js"`), name);
    assert.doesNotMatch(cli, /from "\.\/(?!commands\/)/, "cli.ts imports only command modules statically");
  });

  it("a phase imports no later phase, and pack none at all (secrecy comes with the spec)", () => {
    const phases = ["load", "resolve", "validate", "render", "pack"];
    // load lints plugin templates as it reads them: the lint is render's, the reading load's.
    const allowed = new Set(["load -> render/template-lint.ts"]);
    const crossings: string[] = [];
    for (const [position, phase] of phases.entries()) {
      for (const file of sources(join(ROOT, "compiler", phase))) {
        for (const imported of importsOf(file)) {
          const target = relative(join(ROOT, "compiler"), imported);
          const other = phases.indexOf(target.split("/")[0] ?? "");
          if (other < 0 || other === position) continue;
          const crossing = `${phase} -> ${target}`;
          if ((phase === "pack" || other > position) && !allowed.has(crossing)) crossings.push(`${relative(ROOT, file)} -> ${target}`);
        }
      }
    }
    assert.deepEqual(crossings, []);
  });

  it("the walk finds a circle when there is one, type-only imports included", () => {
    const graph = new Map([
      ["cli.ts", ["ship/command.ts"]],
      ["ship/command.ts", ["options.ts", "cli.ts"]],
      ["options.ts", []],
    ]);
    assert.deepEqual(findCircle(graph), ["cli.ts", "ship/command.ts", "cli.ts"]);
    const text = 'import type { SpecOptions } from "../cli.js";';
    assert.ok(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)\.js"/ms.test(text));
  });
});
