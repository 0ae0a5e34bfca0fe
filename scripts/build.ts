// `npm run build`, after tsc: what plc would otherwise redo at every run (validators, templates, the built-in
// plugins), then the shipped CLI as one bundled file (build/bundle/cli.cjs) and its code cache. The sources
// and their layout stay as they are.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { _, type Options, type ValidateFunction } from "ajv";
import standalone from "ajv/dist/standalone/index.js";
import ejs from "ejs";
import { build, type Plugin } from "esbuild";
import { compileCommonJs, runCommonJs, writeCodeCache } from "../compiler/code-cache.js";
import { BUILT_IN_PLUGINS_FILE, readPluginManifestSchema, readPlugins, PLUGIN_AJV_OPTIONS, storedBuiltInPlugins } from "../compiler/load/plugins.js";
import { PRECOMPILED_DIR } from "../compiler/paths.js";
import { COMPILED_TEMPLATE_DIRS, COMPILED_TEMPLATES_FILE, templateKey } from "../compiler/render/compiled-templates.js";
import { RENDER_EJS_OPTIONS } from "../compiler/render/index.js";
import { newAjv, validatorFile, validatorKey, type Formats } from "../compiler/precompiled.js";
import { PROJECT_AJV_OPTIONS, PROJECT_FORMATS, schemaFor } from "../compiler/validate/index.js";
import type { PluginDefinition } from "../compiler/types.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Bundles build/compiler/cli.js into one CommonJS file, build/bundle/cli.cjs, and the launcher, plc.cjs
 * (`bin`), which runs it from V8's code cache (compiler/code-cache.ts). One file, because Node reads
 * and links each ES module of a split bundle through its own resolver at every start; CommonJS, because
 * Node 20 can run only a script, not a module, from a code cache. Each command's `import()` stays lazy:
 * esbuild turns it into a module initialised when the command runs. Both files stay two folders deep, so
 * PACKAGE_ROOT (paths.ts) is the same from each. meta.json says which sources went in, and cli.cjs.map
 * where each came from (test/imports.test.ts reads them).
 */
async function bundleCli(): Promise<void> {
  const outdir = join(ROOT, "build", "bundle");
  rmSync(outdir, { recursive: true, force: true });
  const common = {
    absWorkingDir: ROOT,
    outdir,
    outExtension: { ".js": ".cjs" },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    // The sources are ES modules: import.meta.url becomes the URL of the file they were bundled into.
    define: { "import.meta.url": "__plcFileUrl" },
    banner: { js: "const __plcFileUrl = require('node:url').pathToFileURL(__filename).href;" },
  } as const;
  const result = await build({
    ...common,
    entryPoints: { cli: join(ROOT, "build", "compiler", "cli.js") },
    plugins: [precompiledInside],
    metafile: true,
    sourcemap: "external",
    sourcesContent: false,
  });
  await build({ ...common, entryPoints: { plc: join(ROOT, "build", "compiler", "launcher.js") } });
  writeFileSync(join(outdir, "meta.json"), JSON.stringify(result.metafile));
  chmodSync(join(outdir, "plc.cjs"), 0o755);
  writeProgramCache(outdir);
}

/**
 * In the bundle, compiler/precompiled-files.js holds templates.cjs as a module of its own, initialised
 * when first asked for, so the templates are in the program's code cache. The validators, one per set of
 * plugins, stay files with caches of their own.
 */
const precompiledInside: Plugin = {
  name: "precompiled-inside",
  setup(build) {
    build.onLoad({ filter: /[\\/]build[\\/]compiler[\\/]precompiled-files\.js$/ }, () => {
      const contents = `import { relative } from "node:path";
import { compileCommonJs, runCommonJs } from "./code-cache.js";
import { PRECOMPILED_DIR } from "./paths.js";
export function requirePrecompiled(file) {
  if (relative(PRECOMPILED_DIR, file) === ${JSON.stringify(relative(PRECOMPILED_DIR, COMPILED_TEMPLATES_FILE))}) return require(${JSON.stringify(COMPILED_TEMPLATES_FILE)});
  return runCommonJs(compileCommonJs(file));
}
`;
      return { contents, loader: "js", resolveDir: join(ROOT, "build", "compiler") };
    });
  },
};

/**
 * The code cache, written by running the program once on the bundled example, in a process of its own
 * with no docker on PATH and its output in a folder thrown away.
 */
function writeProgramCache(outdir: string): void {
  const scratch = mkdtempSync(join(tmpdir(), "plc-code-cache-"));
  try {
    // The README's example with every built-in plugin and a vhost: their templates are in the cache too.
    const example = ["-i", join(ROOT, "fixtures", "inventory-production", "inventory"), "prefix=yourproject", "instance=production", "-p", "postgres,uwsgi,django,sentry", "sentry_dsn=https://key@sentry.example.com/1", "dns=yourproject.example.com", "env.SECRET_KEY=code-cache"];
    const run = spawnSync(process.execPath, [join(ROOT, "build", "scripts", "program-cache.js"), outdir, scratch, ...example], { cwd: scratch, encoding: "utf8", env: { ...process.env, PATH: "" } });
    if (run.status !== 0) throw new Error(`writing the code cache failed: ${run.stderr}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * ajv's standalone code for one schema, as a CommonJS factory taking the formats (plc's own functions,
 * so the file holds no copy of them). validate/precompiled.ts finds it by the schema's digest.
 */
async function precompileValidator(schema: object, options: Options, formats: Formats): Promise<void> {
  const ajv = newAjv({ ...options, code: { source: true, formats: _`__plcFormats` } }, formats);
  const source = standalone.default(ajv, ajv.compile(schema));
  const factory = `"use strict";\nmodule.exports = function (__plcFormats) {\nconst module = { exports: {} }; const exports = module.exports;\n${source}\nreturn module.exports;\n};\n`;
  // Bundled: the few runtime helpers the code requires (ajv/dist/runtime/ucs2length) go inside, so a
  // run with plc's own plugins loads nothing of ajv's.
  const built = await build({ stdin: { contents: factory, resolveDir: ROOT, loader: "js" }, bundle: true, write: false, minify: true, format: "cjs", platform: "node", target: "node20", legalComments: "none", logLevel: "warning" });
  const file = validatorFile(validatorKey(schema, options, formats));
  writeFileSync(file, built.outputFiles[0]?.text ?? "");
  // Its code cache, once the validator has run: V8 compiles a function when it is first called.
  const compiled = compileCommonJs(file);
  (runCommonJs(compiled) as (formats: Formats) => ValidateFunction)(formats)({});
  writeCodeCache(compiled);
}

/** Every subset of the built-in plugins, sorted by name as validate/index.ts asks for them. */
function subsets(plugins: readonly PluginDefinition[]): PluginDefinition[][] {
  const sorted = [...plugins].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return Array.from({ length: 2 ** sorted.length }, (_, mask) => sorted.filter((_, bit) => (mask & (1 << bit)) !== 0));
}

async function precompileValidators(): Promise<void> {
  rmSync(join(PRECOMPILED_DIR, "validate"), { recursive: true, force: true });
  mkdirSync(join(PRECOMPILED_DIR, "validate"), { recursive: true });
  await precompileValidator(readPluginManifestSchema(), PLUGIN_AJV_OPTIONS, {});
  for (const plugins of subsets(readPlugins([], ROOT))) await precompileValidator(schemaFor(plugins), PROJECT_AJV_OPTIONS, PROJECT_FORMATS);
}

/** Every file under a folder whose name ends in `ext`. */
function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), ext) : entry.name.endsWith(ext) ? [join(dir, entry.name)] : [],
  );
}

/**
 * plc's own templates as functions (render/compiled-templates.ts runs them): EJS compiles each with the
 * options render gives it, and its generated body is wrapped in a function of the same parameters.
 * One EJS does not compile (a syntax error) is left out: render reports it as it runs, located.
 */
function precompileTemplates(): void {
  const entries: string[] = [];
  // prep's templates take locals by their context's keys: EJS compiles them as plc prep runs.
  const files = COMPILED_TEMPLATE_DIRS.flatMap((dir) => filesUnder(join(ROOT, dir), ".ejs")).filter((file) => !file.includes("/templates/prep/"));
  for (const file of files.sort()) {
    const template = new ejs.Template(readFileSync(file, "utf8"), { ...RENDER_EJS_OPTIONS, destructuredLocals: [...RENDER_EJS_OPTIONS.destructuredLocals], filename: file });
    try {
      template.compile();
    } catch {
      continue;
    }
    const body = `"use strict";\nlet __line = 1;\ntry {\n${template.source}} catch (e) {\n  rethrow(e, __line);\n}\n`;
    entries.push(`${JSON.stringify(templateKey(file))}: { text: ${JSON.stringify(template.templateText)}, render: function (locals, escapeFn, include, rethrow) {\n${body}} }`);
  }
  // Not minified: an error raised while rendering names the template's own identifiers, as EJS's does.
  // ASCII, as code-cache.ts reads what it compiles: JSON.stringify leaves "…" as it is, so it is escaped.
  const text = `"use strict";\nmodule.exports = {\n${entries.join(",\n")}\n};\n`.replace(/[^\x00-\x7f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
  writeFileSync(COMPILED_TEMPLATES_FILE, text);
}

// What an earlier build stored is not read back: readPlugins would take it for the plugins' folders.
rmSync(PRECOMPILED_DIR, { recursive: true, force: true });
await precompileValidators();
writeFileSync(BUILT_IN_PLUGINS_FILE, storedBuiltInPlugins(ROOT));
precompileTemplates();
await bundleCli();
