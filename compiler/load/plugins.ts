// Plugins are folders: plugin.yml plus optional hook templates. External dirs are searched first.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { ErrorObject, Options, ValidateFunction } from "ajv";
import { LineCounter, parseDocument, isMap, isScalar, type Node } from "yaml";
import { diagnostic, displayPath, PlcError, type Diagnostic } from "../diagnostics.js";
import { BUILTIN_PLUGINS_DIR, PACKAGE_ROOT, PRECOMPILED_DIR, SCHEMA_DIR } from "../paths.js";
import { lintTemplate } from "../render/template-lint.js";
import { loadValidator } from "../precompiled.js";
import { HOOK_NAMES, type HookName, type PluginDefinition } from "../types.js";

/**
 * Every plugin available, by name; a plugin in an earlier dir hides a built-in of the same name.
 * External manifests are checked against the plugin schema; the built-in ones are plc's own,
 * checked by its tests (`checkBuiltIn`), which saves every run compiling that schema.
 */
export function readPlugins(extraDirs: readonly string[], cwd: string, options: { checkBuiltIn?: boolean } = {}): PluginDefinition[] {
  const problems: Diagnostic[] = [];
  const byName = new Map<string, PluginDefinition>();
  for (const dir of [...extraDirs, BUILTIN_PLUGINS_DIR]) {
    const validate = dir === BUILTIN_PLUGINS_DIR && options.checkBuiltIn !== true ? undefined : pluginValidator();
    if (!existsSync(dir)) {
      problems.push(
        diagnostic("missing-plugins-dir", { dir }, { variable: "--plugins-dir" }),
      );
      continue;
    }
    const built = dir === BUILTIN_PLUGINS_DIR && validate === undefined ? builtInPlugins(cwd) : undefined;
    for (const entry of built?.map((plugin) => plugin.name) ?? readdirSync(dir).sort()) {
      const manifestFile = join(dir, entry, "plugin.yml");
      if (built === undefined && (entry.startsWith("_") || !existsSync(manifestFile))) continue;
      const hiding = byName.get(entry);
      if (hiding !== undefined) {
        // Plugins are code: a same-named external one replacing plc's own is said, never silent.
        if (dir === BUILTIN_PLUGINS_DIR && hiding.shadows === undefined) hiding.shadows = join(dir, entry);
        continue;
      }
      const plugin = built?.find((builtIn) => builtIn.name === entry) ?? readPlugin(join(dir, entry), manifestFile, cwd, validate, problems);
      // Built-in templates are linted by test/templates.test.ts; an external plugin's, every time it loads.
      if (plugin && dir !== BUILTIN_PLUGINS_DIR) problems.push(...lintPluginTemplates(plugin.dir, cwd));
      if (plugin) byName.set(plugin.name, plugin);
    }
  }
  if (problems.length > 0) throw new PlcError(problems);
  return [...byName.values()];
}

/** build/precompiled/plugins.json: the built-in plugins as the build read them, paths from the package root. */
export const BUILT_IN_PLUGINS_FILE = join(PRECOMPILED_DIR, "plugins.json");

type StoredPlugin = Omit<PluginDefinition, "hooks"> & { hooks: [HookName, { file: string; source: string }][] };

/** The built-in plugins as `npm run build` stores them: JSON, every path relative to the package root. */
export function storedBuiltInPlugins(cwd: string): string {
  const stored: StoredPlugin[] = readPlugins([], cwd).map((plugin) => ({
    ...plugin,
    dir: relative(PACKAGE_ROOT, plugin.dir),
    // As the folders are read it is a display path, relative to the run's cwd: made again as it loads.
    manifestFile: relative(PACKAGE_ROOT, join(plugin.dir, "plugin.yml")),
    secretsTemplate: plugin.secretsTemplate === undefined ? undefined : { ...plugin.secretsTemplate, file: relative(PACKAGE_ROOT, plugin.secretsTemplate.file) },
    hooks: [...plugin.hooks].map(([hook, template]) => [hook, { ...template, file: relative(PACKAGE_ROOT, template.file) }]),
  }));
  return JSON.stringify(stored);
}

let builtIns: PluginDefinition[] | undefined;

/**
 * The built-in plugins read at build time (parsing five plugin.yml costs a run milliseconds), a fresh
 * copy each call (resolve may mark one as shadowed); undefined without the build step, then they are read.
 */
function builtInPlugins(cwd: string): PluginDefinition[] | undefined {
  if (builtIns === undefined) {
    if (!existsSync(BUILT_IN_PLUGINS_FILE)) return undefined;
    const stored = JSON.parse(readFileSync(BUILT_IN_PLUGINS_FILE, "utf8")) as StoredPlugin[];
    const at = (path: string): string => join(PACKAGE_ROOT, path);
    builtIns = stored.map((plugin) => ({
      ...plugin,
      dir: at(plugin.dir),
      manifestFile: at(plugin.manifestFile),
      secretsTemplate: plugin.secretsTemplate === undefined ? undefined : { ...plugin.secretsTemplate, file: at(plugin.secretsTemplate.file) },
      hooks: new Map(plugin.hooks.map(([hook, template]) => [hook, { ...template, file: at(template.file) }])),
      // JSON drops a key whose value is undefined; the shape stays the one readPlugin gives.
      hostSecrets: plugin.hostSecrets.map((secret) => ({ key: secret.key, requiredFor: secret.requiredFor })),
    }));
  }
  return builtIns.map((plugin) => ({ ...structuredClone(plugin), manifestFile: displayPath(cwd, plugin.manifestFile) }));
}

// Compiling a schema costs milliseconds; the schema file is part of plc, so once per process is enough
// (and none when the build precompiled it).
let compiledValidator: ValidateFunction | undefined;

export const PLUGIN_AJV_OPTIONS: Options = { allErrors: true, strict: true };

/** plugin.schema.json, the schema of a plugin.yml. */
export function readPluginManifestSchema(): object {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, "plugin.schema.json"), "utf8")) as object;
}

function pluginValidator(): ValidateFunction {
  compiledValidator ??= loadValidator(readPluginManifestSchema(), PLUGIN_AJV_OPTIONS, {});
  return compiledValidator;
}

function readPlugin(
  dir: string,
  manifestFile: string,
  cwd: string,
  validate: ValidateFunction | undefined,
  problems: Diagnostic[],
): PluginDefinition | undefined {
  const display = displayPath(cwd, manifestFile);
  const lines = new LineCounter();
  const doc = parseDocument(readFileSync(manifestFile, "utf8"), { lineCounter: lines, uniqueKeys: true });
  const firstError = doc.errors[0];
  if (firstError) {
    const position = firstError.linePos?.[0] ?? { line: 1, col: 1 };
    problems.push(
      diagnostic("plugin-yaml", { problem: firstError.message.split("\n")[0] ?? "" }, { origin: { kind: "file", file: display, ...position } }),
    );
    return undefined;
  }
  const raw = doc.toJS() as unknown;
  if (validate !== undefined && !validate(raw)) {
    for (const error of validate.errors ?? []) {
      problems.push(pluginSchemaDiagnostic(error, doc.contents, lines, display));
    }
    return undefined;
  }
  const manifest = raw as {
    name: string;
    description: string;
    after?: string[];
    requires?: string[];
    variables?: Record<string, unknown>;
    env?: Record<string, string>;
    secret_env?: string[];
    host_tools?: string[];
    mounts?: { source: string; target: string }[];
    data?: { path: string; owner?: "root" | "image"; mode?: string }[];
    globals?: string[];
    required?: string[];
    secret_variables?: string[];
    image_env?: Record<string, string>;
    host_secrets?: { key: string; required_for?: string }[];
  };
  if (manifest.name !== dir.split("/").pop()) {
    problems.push(
      diagnostic("plugin-folder-name", { plugin: manifest.name }, { origin: positionOf(doc.contents, ["name"], lines, display) }),
    );
    return undefined;
  }
  const hooks = new Map<HookName, { file: string; source: string }>();
  for (const hook of HOOK_NAMES) {
    const file = join(dir, `${hook}.sh.ejs`);
    if (existsSync(file) && statSync(file).isFile()) {
      // Absolute: EJS resolves include() against it.
      hooks.set(hook, { file, source: readFileSync(file, "utf8") });
    }
  }
  const secretsFile = join(dir, "secrets.env.ejs");
  return {
    name: manifest.name,
    description: manifest.description,
    dir,
    after: manifest.after ?? [],
    requires: manifest.requires ?? [],
    variables: manifest.variables ?? {},
    env: manifest.env ?? {},
    secretEnv: manifest.secret_env ?? [],
    hostTools: manifest.host_tools ?? [],
    mounts: manifest.mounts ?? [],
    data: (manifest.data ?? []).map((dir) => ({ path: dir.path, owner: dir.owner ?? "image", mode: dir.mode ?? "0750" })),
    globals: manifest.globals ?? [],
    required: manifest.required ?? [],
    secretVariables: manifest.secret_variables ?? [],
    imageEnv: manifest.image_env ?? {},
    hostSecrets: (manifest.host_secrets ?? []).map((secret) => ({ key: secret.key, requiredFor: secret.required_for })),
    secretsTemplate: existsSync(secretsFile)
      ? { file: secretsFile, source: readFileSync(secretsFile, "utf8") }
      : undefined,
    hooks,
    manifestFile: display,
    raw: raw as Record<string, unknown>,
  };
}

/** Every template of the folder, included ones too: a value reaches the bundle only through the right helper. */
function lintPluginTemplates(dir: string, cwd: string): Diagnostic[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith(".ejs") && statSync(join(dir, file)).isFile())
    .sort()
    .flatMap((file) => lintTemplate(readFileSync(join(dir, file), "utf8"), displayPath(cwd, join(dir, file))));
}

function pluginSchemaDiagnostic(error: ErrorObject, contents: unknown, lines: LineCounter, display: string): Diagnostic {
  const path = error.instancePath.split("/").slice(1);
  const extra = error.keyword === "additionalProperties" ? (error.params as { additionalProperty: string }).additionalProperty : undefined;
  const where = extra === undefined ? error.instancePath || "/" : `${error.instancePath}/${extra}`;
  return diagnostic("plugin-manifest", { where, problem: error.message ?? "invalid" }, { origin: positionOf(contents, extra === undefined ? path : [...path, extra], lines, display, extra !== undefined) });
}

/** Where a path of the manifest is written: its value, or its key when the key itself is the problem. */
function positionOf(contents: unknown, path: string[], lines: LineCounter, display: string, isKey = false) {
  let node = contents as Node | null;
  for (const [index, key] of path.entries()) {
    if (!isMap(node)) break;
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
    if (!pair) break;
    const isLast = index === path.length - 1;
    node = isLast && isKey ? (pair.key as Node) : ((pair.value as Node | null) ?? (pair.key as Node));
  }
  const { line, col } = lines.linePos(node?.range?.[0] ?? 0);
  return { kind: "file" as const, file: display, line, col };
}
