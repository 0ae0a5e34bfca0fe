// `npm run build`, after tsc: the shipped CLI as one bundled file (build/bundle/plc.js). Node then reads and
// compiles one file instead of resolving a few hundred modules; the sources and their layout stay as they are.
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { _, type Options } from "ajv";
import standalone from "ajv/dist/standalone/index.js";
import ejs from "ejs";
import { build } from "esbuild";
import { BUILT_IN_PLUGINS_FILE, readPluginManifestSchema, readPlugins, PLUGIN_AJV_OPTIONS, storedBuiltInPlugins } from "../compiler/load/plugins.js";
import { PRECOMPILED_DIR } from "../compiler/paths.js";
import { COMPILED_TEMPLATE_DIRS, COMPILED_TEMPLATES_FILE, templateKey } from "../compiler/render/compiled-templates.js";
import { RENDER_EJS_OPTIONS } from "../compiler/render/index.js";
import { newAjv, validatorFile, validatorKey, type Formats } from "../compiler/precompiled.js";
import { PROJECT_AJV_OPTIONS, PROJECT_FORMATS, schemaFor } from "../compiler/validate/index.js";
import type { PluginDefinition } from "../compiler/types.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Bundles build/compiler/cli.js. Each command's `import()` stays lazy: esbuild splits what a command loads
 * into chunks beside plc.js, so `plc --version` reads none of them. Every file stays two folders deep,
 * so PACKAGE_ROOT (paths.ts) is the same from each. meta.json says which sources went where
 * (test/imports.test.ts reads it).
 */
async function bundleCli(): Promise<void> {
  const outdir = join(ROOT, "build", "bundle");
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { plc: join(ROOT, "build", "compiler", "cli.js") },
    outdir,
    bundle: true,
    splitting: true,
    chunkNames: "[name]-[hash]",
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
    // The CommonJS dependencies (ajv, ejs) call require; an ES module has none of its own.
    banner: { js: "import { createRequire as __plcCreateRequire } from 'node:module'; const require = __plcCreateRequire(import.meta.url);" },
  });
  writeFileSync(join(outdir, "meta.json"), JSON.stringify(result.metafile));
  chmodSync(join(outdir, "plc.js"), 0o755);
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
  writeFileSync(validatorFile(validatorKey(schema, options, formats)), built.outputFiles[0]?.text ?? "");
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

/** Every .ejs file under a folder. */
function templatesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? templatesUnder(join(dir, entry.name)) : entry.name.endsWith(".ejs") ? [join(dir, entry.name)] : [],
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
  const files = COMPILED_TEMPLATE_DIRS.flatMap((dir) => templatesUnder(join(ROOT, dir))).filter((file) => !file.includes("/templates/prep/"));
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
  writeFileSync(COMPILED_TEMPLATES_FILE, `"use strict";\nmodule.exports = {\n${entries.join(",\n")}\n};\n`);
}

// What an earlier build stored is not read back: readPlugins would take it for the plugins' folders.
rmSync(PRECOMPILED_DIR, { recursive: true, force: true });
await precompileValidators();
writeFileSync(BUILT_IN_PLUGINS_FILE, storedBuiltInPlugins(ROOT));
precompileTemplates();
await bundleCli();
