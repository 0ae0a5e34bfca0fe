// Phase 3, validate: the project schema plus each plugin's variables, checked by ajv; errors located.
import type { ErrorObject, Options, ValidateFunction } from "ajv";
import ejs from "ejs";
import { diagnostic, formatOrigin, nearest, PlcError, type Diagnostic } from "../diagnostics.js";
import { pointerOf } from "../resolve/index.js";
import type { EnvEntry, HtaccessUser, Origin, PluginDefinition, ResolvedSpec, ResolvedValue, Retention, Spec } from "../types.js";
import { isAbsolutePath, isHomePath, isHostName, isImageReference, normalizeImageReference, parseLftpDsn, suggestName, textProblem } from "./formats.js";
import { reservedEnvKey } from "./reserved.js";
import { planTls } from "../tls/index.js";
import { PLAYLABS_NAMES } from "../resolve/playlabs.js";
import { loadValidator, type Formats } from "../precompiled.js";

import { readProjectSchema, type ProjectSchema } from "../schema.js";

export { readProjectSchema } from "../schema.js";

/** The project schema with the active plugins' variables added, as `plc schema` prints it. */
export function schemaFor(plugins: readonly PluginDefinition[], base: ProjectSchema = readProjectSchema()): ProjectSchema {
  const properties = { ...base.properties };
  const required = [...((base["required"] as string[] | undefined) ?? []), ...plugins.flatMap((plugin) => plugin.required)];
  for (const plugin of plugins) {
    for (const [name, fragment] of Object.entries(plugin.variables)) {
      properties[name] = { ...(fragment as object), description: `${plugin.name}: ${(fragment as { description?: string }).description ?? ""}` };
    }
  }
  return { ...base, properties, required };
}

/** Variables that are secrets whatever their origin; vault values are secret wherever they are. */
const CORE_SECRET_VARIABLES = ["backup_password", "lftp_dsn", "htaccess", "users", "tls_certificate", "tls_key", "slack_token", "notify_webhook"];

/** Validators and their schemas by set of active plugins: one inventory builds many instances. */
const compiled = new Map<string, { schema: ProjectSchema; validate: ValidateFunction }>();

// coerceTypes: argv values are strings (`port=8000`); "array" lets `dns: example.com` stand for a list of one.
// validateSchema off: checking against the draft-07 meta-schema costs a run ~20 ms, and the schema
// is plc's (tested: test/plugins.test.ts); strict mode still refuses unknown keywords of plugins.
export const PROJECT_AJV_OPTIONS: Options = { allErrors: true, useDefaults: true, coerceTypes: "array", strict: true, verbose: true, validateSchema: false };

export const PROJECT_FORMATS: Formats = {
  "image-reference": isImageReference,
  "host-name": isHostName,
  "absolute-path": isAbsolutePath,
  "home-path": isHomePath,
  "lftp-dsn": (text: string) => typeof parseLftpDsn(text) !== "string",
};

/** One validator per set of active plugins (a schema is a function of them): precompiled, or compiled once. */
function compile(plugins: readonly PluginDefinition[]): { schema: ProjectSchema; validate: ValidateFunction } {
  const key = plugins.map((plugin) => plugin.dir).join("\n");
  const cached = compiled.get(key);
  if (cached) return cached;
  const schema = schemaFor(plugins);
  const entry = { schema, validate: loadValidator(schema, PROJECT_AJV_OPTIONS, PROJECT_FORMATS) };
  compiled.set(key, entry);
  return entry;
}

/** Checks the resolved spec and returns it typed, or throws every problem found, located. */
export function validateSpec(resolved: ResolvedSpec): Spec {
  const problems: Diagnostic[] = [];
  const secretVariables = [...CORE_SECRET_VARIABLES, ...resolved.plugins.flatMap((plugin) => plugin.secretVariables)];
  for (const [pointer, value] of resolved.values) {
    noteYamlScalar(pointer, value, resolved.notes);
    checkText(pointer, value, problems);
    checkVaultValue(pointer, value, secretVariables, problems);
  }
  if (problems.length > 0) throw new PlcError(problems);

  // By name, so one precompiled validator serves every order the plugins come in.
  const byName = [...resolved.plugins].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const { schema, validate } = compile(byName);
  const vars = structuredClone(resolved.vars);
  if (!validate(vars)) {
    const located = (validate.errors ?? []).map((error) => toDiagnostic(error, resolved, schema));
    // A derived default (home from prefix) fails because of the user's value: report only the latter.
    const fromUser = located.filter((d) => d.origin !== undefined && d.origin.kind !== "default");
    throw new PlcError(dedupe(fromUser.length > 0 ? fromUser : located));
  }
  return toSpec(vars, resolved, problems);
}

/**
 * A YAML boolean or null in env: playlabs handed the container Python's text of it ('True',
 * 'None'); plc passes YAML's ('true', ''), so the note names the difference and the fix.
 */
function noteYamlScalar(pointer: string, resolved: ResolvedValue, notes: string[]): void {
  if (!pointer.startsWith("/env/") || (typeof resolved.value !== "boolean" && resolved.value !== null)) return;
  const shown = resolved.value === null ? "null" : String(resolved.value);
  const python = resolved.value === null ? "None" : resolved.value ? "True" : "False";
  notes.push(
    `${variableName(pointer)} (${formatOrigin(resolved.origin)}) is YAML's ${resolved.value === null ? "null" : `boolean ${shown}`}: the container gets '${resolved.value === null ? "" : shown}' where playlabs passed '${python}'; quote it in the inventory to choose`,
  );
}

/**
 * Plugin values are EJS templates over the resolved variables (`<%- name %>-postgres`): a renderer per
 * spec. EJS would copy the data into a null-prototype object (without `__proto__` and `constructor`)
 * for every value; that copy is made here once per spec, and the templates read it as it is.
 */
function pluginTemplateRenderer(context: Record<string, unknown>): (template: string) => string {
  const locals = Object.keys(context).filter((key) => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key));
  const joined = locals.join(",");
  // Compiled once per template and set of names: 1000 instances of one inventory render the same ones.
  let templates = pluginTemplates.get(joined);
  if (templates === undefined) pluginTemplates.set(joined, (templates = new Map<string, PluginTemplate>()));
  const compiledFor = templates;
  const data = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(context)) if (key !== "__proto__" && key !== "constructor") data[key] = context[key];
  return (template) => {
    let compiled = compiledFor.get(template);
    if (compiled === undefined) {
      const options = { strict: true, _with: false, destructuredLocals: locals, async: false, unsafePrototypeLocals: true };
      // A template that can reach its data object (by name, `arguments` or `eval`) gets a copy of its
      // own, as EJS gives each render: what it writes there is not seen by the next value.
      compiled = { render: ejs.compile(template, options as ejs.Options & { async: false }) as ejs.TemplateFunction, isDataReachable: /\b(?:locals|arguments|eval)\b/.test(template) };
      compiledFor.set(template, compiled);
    }
    return compiled.render(compiled.isDataReachable ? Object.assign(Object.create(null) as Record<string, unknown>, data) : data);
  };
}

interface PluginTemplate {
  render: ejs.TemplateFunction;
  isDataReachable: boolean;
}

/** By the names a context has, then by template. */
const pluginTemplates = new Map<string, Map<string, PluginTemplate>>();

/**
 * A vault value is a secret, and only env values and secret variables are kept out of the tarball:
 * an encrypted image or dns would be published in clear, so it is refused rather than leaked.
 */
function checkVaultValue(pointer: string, resolved: ResolvedValue, secretVariables: readonly string[], problems: Diagnostic[]): void {
  if (!resolved.isSecret) return;
  const top = variableName(pointer).split(".")[0] ?? "";
  if (top === "env" || secretVariables.includes(top)) return;
  problems.push(
    diagnostic("vault-in-clear", { variable: variableName(pointer), top, secretVariables: secretVariables.join(", ") }, { origin: resolved.origin, variable: variableName(pointer) }),
  );
}

function checkText(pointer: string, resolved: ResolvedValue, problems: Diagnostic[]): void {
  if ((pointer.includes("__proto__") && pointer.split("/").includes("__proto__")) || hasProtoKey(resolved.value)) {
    problems.push(
      diagnostic("proto-key", { variable: variableName(pointer) }, { origin: resolved.origin, variable: variableName(pointer) }),
    );
    return;
  }
  // Most values are one string: no list of one.
  const strings: string[] = typeof resolved.value === "string" ? [resolved.value] : [];
  if (strings.length === 0) collectStrings(resolved.value, strings);
  for (const text of strings) {
    const problem = textProblem(text);
    if (problem !== undefined) {
      problems.push(
        diagnostic("invalid-text", { variable: variableName(pointer), problem }, { origin: resolved.origin, variable: variableName(pointer) }),
      );
      return;
    }
  }
}

function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (typeof value !== "object" || value === null) return false;
  return Object.keys(value).some((key) => key === "__proto__" || hasProtoKey((value as Record<string, unknown>)[key]));
}

function collectStrings(value: unknown, into: string[]): void {
  if (typeof value === "string") into.push(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, into);
  else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      into.push(key);
      collectStrings(item, into);
    }
  }
}

function variableName(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
}

/** The origin of a pointer, or of the nearest ancestor or descendant that has one. */
function originAt(pointer: string, resolved: ResolvedSpec): Origin | undefined {
  for (let candidate = pointer; candidate !== ""; candidate = candidate.slice(0, candidate.lastIndexOf("/"))) {
    const found = resolved.values.get(candidate);
    if (found) return found.origin;
  }
  for (const [key, value] of resolved.values) if (key.startsWith(pointer + "/")) return value.origin;
  return undefined;
}

function toDiagnostic(error: ErrorObject, resolved: ResolvedSpec, schema: ProjectSchema): Diagnostic {
  const params = error.params as Record<string, unknown>;
  let pointer = error.instancePath;
  if (error.keyword === "additionalProperties") pointer += pointerOf([String(params["additionalProperty"])]);
  if (error.keyword === "propertyNames" || error.propertyName !== undefined) {
    const propertyName = params["propertyName"];
    pointer += pointerOf([typeof propertyName === "string" ? propertyName : (error.propertyName ?? "")]);
  }
  if (error.keyword === "required") pointer += pointerOf([String(params["missingProperty"])]);
  const variable = variableName(pointer);
  const origin = originAt(pointer, resolved);
  const value: unknown = error.keyword === "additionalProperties" || error.keyword === "required" ? undefined : error.data;
  const top = pointer.split("/")[1] ?? "";

  if (error.keyword === "additionalProperties" && error.instancePath === "") {
    const suggestion = nearest(top, [...Object.keys(schema.properties), ...PLAYLABS_NAMES]);
    return diagnostic("unknown-variable", { variable, suggestion }, { origin, variable });
  }
  if (error.keyword === "required") {
    return diagnostic("required-variable", { variable }, { variable });
  }
  if (error.keyword === "not" && error.propertyName !== undefined) {
    return diagnostic("reserved-env-key", { variable, key: error.propertyName, why: reservedEnvKey(error.propertyName) ?? "plc's scripts use it" }, { origin, variable });
  }
  if (error.keyword === "propertyNames" || error.keyword === "pattern" && error.propertyName !== undefined) {
    const key = pointer.split("/").pop() ?? "";
    return diagnostic("invalid-env-key", { variable, key, suggestion: key.replace(/[^A-Za-z0-9_]/g, "_").replace(/^([0-9])/, "_$1") }, { origin, variable });
  }
  if (error.keyword === "pattern" && String(params["pattern"]) === ONE_LINE) {
    return diagnostic("multi-line-value", { variable }, { origin, variable });
  }
  if (error.keyword === "pattern" && (top === "prefix" || top === "instance")) {
    if (isSecretValue(pointer, resolved)) return diagnostic("invalid-instance-name", { variable, value: undefined, suggestion: "" }, { origin, variable });
    const suggestion = suggestName(String(value));
    return diagnostic("invalid-instance-name", { variable, value: String(value), suggestion }, { origin, variable });
  }
  if (error.keyword === "format") {
    const format = String(params["format"]);
    const shown = format === "lftp-dsn" ? "<dsn>" : isSecretValue(pointer, resolved) ? "********" : String(value);
    if (format === "image-reference") return diagnostic("invalid-image", { variable, value: shown }, { origin, variable });
    const why = format === "lftp-dsn" ? (typeof value === "string" ? parseLftpDsn(value) as string : "invalid") : undefined;
    return diagnostic("invalid-format", { variable, value: shown, format, why }, { origin, variable });
  }
  return diagnostic("invalid-value", { variable, problem: error.message ?? "is invalid", expected: describeExpected(error) }, { origin, variable });
}

/** The schema pattern of one-line strings (a plugin's password written into a line-based file). */
const ONE_LINE = "^[^\\n\\r]*$";

/** Whether the value a diagnostic would quote came from a vault: it is then never printed. */
function isSecretValue(pointer: string, resolved: ResolvedSpec): boolean {
  for (let candidate = pointer; candidate !== ""; candidate = candidate.slice(0, candidate.lastIndexOf("/"))) {
    if (resolved.values.get(candidate)?.isSecret === true) return true;
  }
  return false;
}

function describeExpected(error: ErrorObject): string | undefined {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === "type") return `expected ${String(params["type"])}`;
  if (error.keyword === "enum") return `one of: ${(params["allowedValues"] as unknown[]).map(String).join(", ")}`;
  if (error.keyword === "pattern") return `must match ${String(params["pattern"])}`;
  return undefined;
}

function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.code}:${d.variable ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The environment playlabs gave every container and images deployed by it read: the instance's
 * names, its host names and sender address, the log mount. The plugins' and the project's env win.
 */
function playlabsEnv(vars: Record<string, unknown>, plugins: readonly PluginDefinition[]): Map<string, string> {
  const prefix = vars["prefix"] as string;
  const dns = vars["dns"] as string[];
  const redirects = (vars["dns_redirect"] as string[]).filter((host) => !dns.includes(host));
  const env = new Map<string, string>([
    ["PLAYLABS_PREFIX", prefix],
    ["PLAYLABS_INSTANCE", vars["instance"] as string],
    ["PLAYLABS_PLUGINS", plugins.map((plugin) => plugin.name).join(",")],
    ["LOG", vars["log_mount"] as string],
  ]);
  // Without dns playlabs used the host's address; plc publishes on loopback only (a build note says so).
  if (dns.length > 0) {
    env.set("ALLOWED_HOSTS", dns.join(","));
    env.set("VIRTUAL_HOST", [...dns, ...redirects].join(","));
  }
  const emailFrom = vars["email_from"];
  if (typeof emailFrom === "string") env.set("DEFAULT_FROM_EMAIL", emailFrom);
  else if (dns[0] !== undefined) env.set("DEFAULT_FROM_EMAIL", `${prefix}@${dns[0]}`);
  return env;
}

function slackOf(vars: Record<string, unknown>): Spec["slack"] {
  const token = vars["slack_token"];
  if (typeof token !== "string") return undefined;
  const text = (name: string): string | undefined => (typeof vars[name] === "string" ? (vars[name]) : undefined);
  return { token, channel: text("slack_channel"), icon: text("slack_icon") };
}

/** From the validated object to the typed Spec render reads; plugin env templated here. */
function toSpec(vars: Record<string, unknown>, input: ResolvedSpec, problems: Diagnostic[]): Spec {
  // Plugin env values join the provenance here: on a copy, so the resolved spec given in stays as it was.
  const resolved: ResolvedSpec = { ...input, values: new Map(input.values) };
  const prefix = vars["prefix"] as string;
  const instance = vars["instance"] as string;
  const name = `${prefix}-${instance}`;
  const projectEnv = vars["env"] as Record<string, string>;
  const secretKeys = new Set([...(vars["secret_env"] as string[]), ...resolved.plugins.flatMap((p) => p.secretEnv)]);
  const env = new Map<string, EnvEntry>();
  const renderValue = pluginTemplateRenderer({ ...vars, name, plugins: resolved.plugins.map((p) => p.name) });
  const hostSecretKeys: string[] = [];
  const mounts: { source: string; target: string }[] = [];
  // playlabs' base environment (vars/main.yml project_env_base), below the plugins' and the project's.
  for (const [key, value] of playlabsEnv(vars, resolved.plugins)) {
    if (projectEnv[key] !== undefined) continue;
    env.set(key, { key, value, isSecret: secretKeys.has(key) });
    resolved.values.set(pointerOf(["env", key]), { value, origin: { kind: "default" }, overrode: [], isSecret: secretKeys.has(key) });
  }
  for (const plugin of resolved.plugins) {
    const located = { origin: { kind: "file" as const, file: plugin.manifestFile, line: 1, col: 1 } };
    for (const [key, template] of Object.entries(plugin.env)) {
      try {
        const value = renderValue(template);
        env.set(key, { key, value, isSecret: secretKeys.has(key) });
        // The project's env.KEY wins below; its origin is the one explain shows.
        if (projectEnv[key] === undefined) resolved.values.set(pointerOf(["env", key]), {
          value,
          origin: { kind: "plugin", plugin: plugin.name },
          overrode: [],
          isSecret: secretKeys.has(key),
        });
      } catch (error) {
        problems.push(
          diagnostic("plugin-env-template", { plugin: plugin.name, key, problem: (error as Error).message.split("\n").pop() ?? "" }, { ...located, variable: `env.${key}` }),
        );
      }
    }
    for (const mount of plugin.mounts) {
      const target = renderValue(mount.target);
      if (!isAbsolutePath(target)) {
        problems.push(
          diagnostic("plugin-mount-relative", { plugin: plugin.name, target }, located),
        );
      }
      mounts.push({ source: mount.source, target });
    }
    for (const secret of plugin.hostSecrets) {
      const isGiven = projectEnv[secret.key] !== undefined || env.has(secret.key);
      if (isGiven) continue;
      if (secret.requiredFor !== undefined && new RegExp(secret.requiredFor).test(instance)) {
        problems.push(
          diagnostic("plugin-secret-missing", { plugin: plugin.name, key: secret.key, prefix, instance }, { origin: originAt("/instance", resolved), variable: `env.${secret.key}` }),
        );
        continue;
      }
      hostSecretKeys.push(secret.key);
    }
  }
  for (const [key, value] of Object.entries(projectEnv)) {
    const resolvedValue = resolved.values.get(pointerOf(["env", key]));
    env.set(key, { key, value, isSecret: secretKeys.has(key) || resolvedValue?.isSecret === true });
  }
  const lftpDsn = vars["lftp_dsn"] as string | undefined;
  const lftp = lftpDsn === undefined ? undefined : parseLftpDsn(lftpDsn);
  if (typeof lftp === "string") throw new Error("unreachable: lftp_dsn passed its format");
  if (lftp !== undefined && vars["backup_password"] === undefined) {
    problems.push(
      diagnostic("lftp-without-backup", {}, { origin: originAt("/lftp_dsn", resolved), variable: "lftp_dsn" }),
    );
  }
  const dns = vars["dns"] as string[];
  const dnsRedirect = vars["dns_redirect"] as string[];
  if (dnsRedirect.length > 0 && dns.length === 0) {
    problems.push(
      diagnostic("redirect-without-dns", {}, { origin: originAt("/dns_redirect", resolved), variable: "dns_redirect" }),
    );
  }
  const image = vars["image"] as string;
  if (resolved.imageTags !== undefined && image.includes("@")) {
    // docker load keeps tags, not registry digests: the host could not find the image by this name.
    problems.push(
      diagnostic("archive-image-digest", { image }, { origin: originAt("/image", resolved), variable: "image" }),
    );
  } else if (resolved.imageTags !== undefined && !resolved.imageTags.map(normalizeImageReference).includes(normalizeImageReference(image))) {
    // docker load would bring in another name; the host would then pull the image, air-gapped or not.
    const held = resolved.imageTags.length === 0 ? "no tag" : resolved.imageTags.join(", ");
    problems.push(
      diagnostic("archive-image-mismatch", { image, held }, { origin: originAt("/image", resolved), variable: "image" }),
    );
  }
  const htaccess = vars["htaccess"] as HtaccessUser[];
  if (htaccess.length > 0 && dns.length === 0) {
    problems.push(
      diagnostic("htaccess-without-dns", {}, { origin: originAt("/htaccess", resolved), variable: "htaccess" }),
    );
  }
  const tls = planTls({ vars, dns, dnsRedirect: dnsRedirect.filter((host) => !dns.includes(host)), originOf: (pointer) => originAt(pointer, resolved) });
  problems.push(...tls.problems);
  const deployStrategy = vars["deploy_strategy"] as Spec["deployStrategy"];
  if (deployStrategy === "blue-green" && dns.length === 0) {
    problems.push(
      diagnostic("blue-green-without-dns", {}, { origin: originAt("/deploy_strategy", resolved), variable: "deploy_strategy" }),
    );
  }
  if (deployStrategy === "blue-green" && (vars["host_port"] as number) >= 65535) {
    problems.push(
      diagnostic("blue-green-port", {}, { origin: originAt("/host_port", resolved), variable: "host_port" }),
    );
  }
  if (problems.length > 0) throw new PlcError(problems);
  const hostPort = vars["host_port"] as number;
  if (dns.length === 0) {
    resolved.notes.push(
      `no dns: the app answers only on 127.0.0.1:${hostPort} of the host (playlabs served it on the host's address); give dns=<name> for an nginx vhost on port 80, or reach it with ssh -L ${hostPort}:127.0.0.1:${hostPort} HOST`,
    );
  }
  return {
    prefix,
    instance,
    name,
    home: vars["home"] as string,
    image,
    plugins: resolved.plugins,
    env: [...env.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    dns,
    dnsRedirect: dnsRedirect.filter((host) => !dns.includes(host)),
    htaccess,
    tls: tls.plan,
    port: vars["port"] as number,
    hostPort,
    healthcheckPath: vars["healthcheck_path"] as string,
    healthcheckTimeout: vars["healthcheck_timeout"] as number,
    stopTimeout: vars["stop_timeout"] as number,
    deployStrategy,
    drainSeconds: vars["drain_seconds"] as number,
    logMaxSize: vars["log_max_size"] as string,
    logMaxFile: vars["log_max_file"] as number,
    logMount: vars["log_mount"] as string,
    logDriver: vars["log_driver"] as Spec["logDriver"],
    logRotate: vars["log_rotate"] as number,
    networks: vars["networks"] as string[],
    letsencryptEmail: vars["letsencrypt_email"] as string | undefined,
    letsencryptUri: vars["letsencrypt_uri"] as string | undefined,
    slack: slackOf(vars),
    backupPassword: vars["backup_password"] as string | undefined,
    lftp,
    retention: vars["retention"] as Retention,
    backupSchedule: vars["backup_schedule"] as string,
    pruneSchedule: vars["prune_schedule"] as string,
    releasesKept: vars["releases_kept"] as number,
    mounts,
    hostSecretKeys,
    imageArchive: resolved.imageArchive,
    imageParts: resolved.imageParts,
    secretVariables: [...CORE_SECRET_VARIABLES, ...resolved.plugins.flatMap((plugin) => plugin.secretVariables)],
    vars,
    values: resolved.values,
    notes: [...resolved.notes, ...tls.notes],
    passwords: resolved.passwords,
  };
}
