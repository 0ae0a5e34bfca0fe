// Jinja in inventory values, evaluated at build time the way Ansible evaluates it for one host:
// lazily (a variable is evaluated when read), with cycle detection, Ansible's common filters and
// playlabs' own (vaulted_read, vaulted_password, url_only, key_pub_read). The engine is nunjucks.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { createRequire } from "node:module";
import type nunjucks from "nunjucks";
import { diagnostic, displayPath, PlcError } from "../diagnostics.js";
import type { ArgsOf, DiagnosticCode } from "../messages.js";
import type { Assignment, InventoryVariable, Origin, TemplateSource } from "../types.js";
import { valueOf } from "./hostvars.js";
import { decryptVault, isVaultText, VaultError, type VaultSecret } from "./vault.js";

/** A value a template may read: argv, inventory or Ansible's magic variables. */
export interface ScopeValue {
  value: unknown;
  origin: Origin;
  isSecret: boolean;
}

export interface TemplateScope {
  /** The host's inventory variables after precedence, templates not yet evaluated. */
  variables: Map<string, InventoryVariable>;
  /** Command-line variables: Ansible's extra vars, above everything. */
  extra: Map<string, ScopeValue>;
  /** inventory_hostname, group_names, groups, and playlabs' role defaults (prefix, instance). */
  magic: Map<string, ScopeValue>;
  /** The inventory directory: vaulted_read, passwords/ and keys/ are relative to it. */
  baseDir: string;
  cwd: string;
  secrets: readonly VaultSecret[];
  environment: Readonly<Record<string, string | undefined>>;
}

/** True when a string holds Jinja syntax Ansible would evaluate. */
export function isTemplate(text: string): boolean {
  return text.includes("{{") || text.includes("{%") || text.includes("{#");
}

const MAX_READ = 1024 * 1024;

/** A node of nunjucks' parse tree, as far as plc reads it. */
interface TemplateNode {
  typename: string;
  children: unknown[];
}

type Nunjucks = typeof nunjucks & { parser: { parse(src: string, extensions: unknown[], options: object): TemplateNode } };
let engineModule: Nunjucks | undefined;

/**
 * nunjucks, loaded when a value first holds a template: most inventories have none, and loading it
 * costs a build several milliseconds. Its parser is exported by the package, absent from its typings.
 */
function loadNunjucks(): Nunjucks {
  engineModule ??= createRequire(import.meta.url)("nunjucks") as Nunjucks;
  return engineModule;
}
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Why an evaluation failed, turned into a located diagnostic by the evaluator. */
class TemplateProblem extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

interface Evaluation {
  isSecret: boolean;
  inputs: { name: string; origin: Origin }[];
}

/** Evaluates the variables of one host on demand; each at most once. */
export class TemplateEvaluator {
  private readonly cache = new Map<string, InventoryVariable>();
  private readonly stack: string[] = [];
  private environment: nunjucks.Environment | undefined;
  private current: Evaluation = { isSecret: false, inputs: [] };
  private captured: unknown;
  /** What a filter or lookup refused during the current render: nunjucks drops an error's type. */
  private problem: TemplateProblem | undefined;

  constructor(private readonly scope: TemplateScope) {
  }

  /** The nunjucks environment with playlabs' filters, made on the first template. */
  private get engine(): nunjucks.Environment {
    if (this.environment === undefined) {
      this.environment = new (loadNunjucks().Environment)([], { autoescape: false, throwOnUndefined: true });
      this.registerFilters(this.environment);
    }
    return this.environment;
  }

  /** The variable with every template in its leaves evaluated; undefined when the inventory lacks it. */
  variable(name: string): InventoryVariable | undefined {
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    const raw = this.scope.variables.get(name);
    if (raw === undefined) return undefined;
    if (this.stack.includes(name)) {
      const cycle = [...this.stack.slice(this.stack.indexOf(name)), name].join(" -> ");
      throw new PlcError([
        diagnostic("variable-cycle", { cycle }, { origin: raw.assignments[0]?.origin, variable: name }),
      ]);
    }
    this.stack.push(name);
    try {
      const assignments = raw.assignments.map((assignment) => this.evaluateAssignment(assignment));
      const evaluated = { assignments, overrode: raw.overrode };
      this.cache.set(name, evaluated);
      return evaluated;
    } finally {
      this.stack.pop();
    }
  }

  private evaluateAssignment(assignment: Assignment): Assignment {
    if (assignment.unsafe === true || !containsTemplate(assignment.value)) return assignment;
    const outer = this.current;
    this.current = { isSecret: false, inputs: [] };
    try {
      const value = this.deep(assignment.value, assignment);
      const { isSecret, inputs } = this.current;
      // A template written in a vault is itself secret text: explain names it without showing it.
      const written = typeof assignment.value === "string" ? assignment.value : JSON.stringify(assignment.value);
      const expression = assignment.isSecret ? "(a template inside a vault)" : written;
      const template: TemplateSource = { expression, inputs: dedupe(inputs) };
      return { ...assignment, value, isSecret: assignment.isSecret || isSecret, template };
    } finally {
      outer.isSecret ||= this.current.isSecret;
      this.current = outer;
    }
  }

  private deep(value: unknown, assignment: Assignment): unknown {
    if (typeof value === "string") return isTemplate(value) ? this.render(value, assignment) : value;
    if (Array.isArray(value)) return value.map((item) => this.deep(item, assignment));
    if (typeof value === "object" && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        Object.defineProperty(out, key, { value: this.deep(item, assignment), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return value;
  }

  /** One template string: a lone `{{ expr }}` keeps its value's type (a list stays a list), as Ansible does. */
  private render(text: string, assignment: Assignment): unknown {
    const variable = assignment.path.join(".");
    let root: TemplateNode;
    try {
      root = loadNunjucks().parser.parse(text, [], {});
    } catch (error) {
      throw this.located(assignment, "jinja-syntax", { variable, template: text, problem: innerMessage(error) });
    }
    const context: Record<string, unknown> = {};
    const unknown: string[] = [];
    for (const name of symbolsOf(root)) {
      const found = this.lookup(name, assignment, variable, text);
      if (found === undefined) {
        unknown.push(name);
        continue;
      }
      context[name] = found.value;
      this.current.isSecret ||= found.isSecret;
      this.current.inputs.push({ name, origin: found.origin });
    }
    this.problem = undefined;
    const lone = /^\{\{-?([\s\S]*?)-?\}\}$/.exec(text);
    const isLone = lone !== null && root.children.length === 1 && (root.children[0] as { children?: unknown[] } | undefined)?.children?.length === 1;
    try {
      if (isLone) {
        this.captured = undefined;
        this.engine.renderString(`{{ __plc_value((${lone[1] ?? ""})) }}`, context);
        if (this.captured === undefined || this.captured === null) throw new Error("attempted to output null or undefined value");
        return this.captured;
      }
      return this.engine.renderString(text, context);
    } catch (error) {
      if (error instanceof PlcError) throw error;
      // Set by a filter during the render, which TypeScript's narrowing cannot see.
      const problem = this.problem as TemplateProblem | undefined;
      if (problem !== undefined) throw this.located(assignment, "jinja-filter", { variable, template: text, problem: problem.message, fix: problem.hint });
      const message = innerMessage(error);
      if (/null or undefined/.test(message) && unknown.length > 0) {
        const facts = unknown.filter((name) => name.startsWith("ansible_") || name === "hostvars");
        throw this.located(assignment, "jinja-undefined", { variable, template: text, names: unknown, facts });
      }
      // nunjucks wraps what a filter throws, sometimes twice: the cause chain leads to it.
      for (let cause: unknown = error; typeof cause === "object" && cause !== null; cause = (cause as { cause?: unknown }).cause) {
        if (cause instanceof TemplateProblem) throw this.located(assignment, "jinja-filter", { variable, template: text, problem: cause.message, fix: cause.hint });
        if (cause instanceof PlcError) throw cause;
      }
      const filter = /filter not found: (\S+)/.exec(message);
      if (filter !== null) {
        throw this.located(assignment, "jinja-unknown-filter", { variable, template: text, filter: filter[1] ?? "", known: [...FILTER_NAMES].sort().join(", ") });
      }
      throw this.located(assignment, "jinja-error", { variable, template: text, problem: message });
    }
  }

  private lookup(name: string, assignment: Assignment, variable: string, text: string): ScopeValue | undefined {
    const extra = this.scope.extra.get(name);
    if (extra !== undefined) return extra;
    if (this.scope.variables.has(name)) {
      if (this.stack.includes(name) && assignment.path[0] === name) {
        throw this.located(assignment, "jinja-self-reference", { variable, template: text, name });
      }
      const evaluated = this.variable(name);
      const assignments = evaluated?.assignments ?? [];
      return {
        value: valueOf(assignments),
        origin: assignments[0]?.origin ?? { kind: "default" },
        isSecret: assignments.some((item) => item.isSecret),
      };
    }
    return this.scope.magic.get(name);
  }

  private located<C extends Extract<DiagnosticCode, `jinja-${string}`>>(assignment: Assignment, code: C, args: ArgsOf<C> & { variable: string }): PlcError {
    return new PlcError([diagnostic(code, args, { origin: assignment.origin, variable: args.variable })]);
  }

  private markSecret(): void {
    this.current.isSecret = true;
  }

  private registerFilters(engine: nunjucks.Environment): void {
    engine.addGlobal("__plc_value", (value: unknown) => {
      this.captured = value;
      return "";
    });
    engine.addGlobal("True", true);
    engine.addGlobal("False", false);
    engine.addGlobal("None", null);
    engine.addGlobal("lookup", this.noting((kind: unknown, ...args: unknown[]) => this.lookupPlugin(String(kind), args.filter((arg) => !isKeywords(arg)))));
    const defaultFilter = (value: unknown, fallback: unknown = "", boolean: unknown = false): unknown =>
      value === undefined || (boolean === true && !isTruthy(value)) ? fallback : value;
    const filters: Record<string, (...args: never[]) => unknown> = {
      default: defaultFilter,
      d: defaultFilter,
      bool: (value: unknown) => (typeof value === "boolean" ? value : ["yes", "on", "1", "true", "y"].includes(String(value).toLowerCase())),
      int: (value: unknown, fallback: unknown = 0) => {
        const parsed = typeof value === "number" ? Math.trunc(value) : Number.parseInt(String(value).trim(), 10);
        return Number.isFinite(parsed) ? parsed : fallback;
      },
      string: (value: unknown) => pythonString(value),
      to_json: (value: unknown) => JSON.stringify(value),
      from_json: (value: unknown) => {
        try {
          return JSON.parse(String(value)) as unknown;
        } catch (error) {
          throw new TemplateProblem(`from_json: ${(error as Error).message}`, "the value must be JSON text");
        }
      },
      b64encode: (value: unknown) => Buffer.from(pythonString(value), "utf8").toString("base64"),
      b64decode: (value: unknown) => Buffer.from(String(value), "base64").toString("utf8"),
      combine: (...args: unknown[]) => {
        const keywords = args.find(isKeywords) as Record<string, unknown> | undefined;
        const dicts = args.filter((arg) => !isKeywords(arg)).flatMap((arg): unknown[] => (Array.isArray(arg) ? (arg as unknown[]) : [arg]));
        return dicts.reduce<Record<string, unknown>>((merged, dict) => combine(merged, dict, keywords?.["recursive"] === true), {});
      },
      list: (value: unknown): unknown[] =>
        Array.isArray(value) ? (value as unknown[]) : typeof value === "string" ? Array.from(value) : typeof value === "object" && value !== null ? Object.keys(value) : [value],
      regex_replace: (value: unknown, pattern: unknown = "", replacement: unknown = "", ...rest: unknown[]) => {
        const keywords = rest.find(isKeywords) as Record<string, unknown> | undefined;
        const flags = "g" + (keywords?.["ignorecase"] === true || rest[0] === true ? "i" : "") + (keywords?.["multiline"] === true || rest[1] === true ? "m" : "");
        return pythonString(value).replace(pythonRegex(String(pattern), flags), pythonReplacement(String(replacement)));
      },
      mandatory: (value: unknown, message: unknown) => {
        if (value === undefined) throw new TemplateProblem(typeof message === "string" ? message : "a mandatory variable is undefined", "define it");
        return value;
      },
      vaulted_read: (path: unknown, fallback?: unknown) => this.vaultedRead(String(path), fallback),
      vaulted_password: (name: unknown, fallback?: unknown) => this.vaultedRead(join("passwords", String(name)), fallback),
      url_only: (url: unknown) => {
        try {
          const parsed = new URL(String(url));
          return `${parsed.protocol}//${parsed.host}`;
        } catch {
          throw new TemplateProblem(`url_only: '${String(url)}' is not a URL`, "give scheme://host/…");
        }
      },
      key_pub_read: (name: unknown) => this.readText(join("keys", `${String(name)}.pub`), "key_pub_read").text,
    };
    for (const [name, filter] of Object.entries(filters)) engine.addFilter(name, this.noting(filter as (...args: unknown[]) => unknown));
  }

  /** The function, remembering a TemplateProblem it throws (for the located error). */
  private noting(action: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
    return (...args: unknown[]) => {
      try {
        return action(...args);
      } catch (error) {
        if (error instanceof TemplateProblem) this.problem = error;
        throw error;
      }
    };
  }

  /** playlabs' vaulted_read: a vault-encrypted (or plain) file beside the inventory, stripped; secret. */
  private vaultedRead(path: string, fallback: unknown): unknown {
    const file = isAbsolute(path) ? path : join(this.scope.baseDir, path);
    if (!isReadableFile(file)) {
      if (fallback !== undefined && fallback !== null && !isKeywords(fallback)) return fallback;
      throw new TemplateProblem(`vaulted_read: ${displayPath(this.scope.cwd, file)} not found and no default provided`, `create it (ansible-vault encrypt > ${path}) or give a default: |vaulted_read("…")`);
    }
    this.markSecret();
    return this.readText(path, "vaulted_read").text.replace(/^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g, "");
  }

  private lookupPlugin(kind: string, args: unknown[]): unknown {
    if (kind === "env") {
      const values = args.map((name) => this.scope.environment[String(name)] ?? "");
      return values.length === 1 ? values[0] : values.join(",");
    }
    if (kind === "file") {
      const values = args.map((path) => this.readText(String(path), "lookup('file')").text.replace(/\n$/, ""));
      return values.join(",");
    }
    throw new TemplateProblem(`lookup('${kind}') is not evaluated at build time`, "plc evaluates lookup('env', …) and lookup('file', …); give the value in the inventory or on the command line");
  }

  /** A file relative to the inventory, then to the working directory; a vault is decrypted (and secret). */
  private readText(path: string, what: string): { text: string } {
    const candidates = isAbsolute(path) ? [path] : [join(this.scope.baseDir, path), join(this.scope.cwd, path)];
    const file = candidates.find(isReadableFile);
    if (file === undefined) throw new TemplateProblem(`${what}: ${path} not found (looked in ${candidates.map((c) => displayPath(this.scope.cwd, c)).join(", ")})`, "the path is relative to the inventory directory");
    let text: string;
    try {
      text = UTF8.decode(readSmall(file));
    } catch {
      throw new TemplateProblem(`${what}: ${displayPath(this.scope.cwd, file)} is not UTF-8 text (or larger than ${MAX_READ} bytes)`, "give a text file");
    }
    if (isVaultText(text)) {
      this.markSecret();
      try {
        text = decryptVault(text, this.scope.secrets);
      } catch (error) {
        if (!(error instanceof VaultError)) throw error;
        throw new TemplateProblem(`${what}: cannot decrypt ${displayPath(this.scope.cwd, file)}: ${error.message}`, "give the vault password: --vault-password-file FILE, --vault-id, $ANSIBLE_VAULT_PASSWORD_FILE, .vault in the inventory or $ANSIBLE_VAULT_PASSWORD");
      }
    }
    return { text };
  }
}

const FILTER_NAMES = new Set([
  "default", "d", "join", "lower", "upper", "replace", "regex_replace", "trim", "int", "bool", "string", "to_json", "from_json",
  "b64encode", "b64decode", "combine", "list", "length", "first", "last", "mandatory", "vaulted_read", "vaulted_password", "url_only", "key_pub_read",
]);

function containsTemplate(value: unknown): boolean {
  if (typeof value === "string") return isTemplate(value);
  if (Array.isArray(value)) return value.some(containsTemplate);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsTemplate);
  return false;
}

/** The names a template reads (loop and set targets included: unknown ones are simply absent). */
function symbolsOf(root: unknown): string[] {
  const names = new Set<string>();
  const stack: unknown[] = [root];
  const seen = new Set<unknown>();
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== "object" || node === null || seen.has(node)) continue;
    seen.add(node);
    const record = node as { typename?: string; value?: unknown; fields?: string[]; children?: unknown[] };
    if (record.typename === "Symbol" && typeof record.value === "string") names.add(record.value);
    if (record.typename === "Filter" || record.typename === "FilterAsync") {
      // The filter's own name is a Symbol too; it is not a variable.
      const name = (node as { name?: { value?: unknown } }).name;
      if (name !== undefined) seen.add(name);
    }
    for (const field of record.fields ?? []) {
      const child = (node as Record<string, unknown>)[field];
      if (Array.isArray(child)) stack.push(...(child as unknown[]));
      else stack.push(child);
    }
    if (Array.isArray(record.children)) stack.push(...record.children);
  }
  return [...names].sort();
}

function innerMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  return (lines.at(-1) ?? text).replace(/^(?:Template render error:?\s*)?(?:\(unknown path\)\s*)?(?:\[Line \d+, Column \d+\]\s*)?/, "").replace(/^Error: /, "");
}

function isKeywords(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as { __keywords?: unknown }).__keywords === true;
}

function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object" && value !== null) return Object.keys(value).length > 0;
  return Boolean(value);
}

/** str() of a Python value, for what Ansible's filters stringify. */
function pythonString(value: unknown): string {
  if (value === true) return "True";
  if (value === false) return "False";
  if (value === null || value === undefined) return "None";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return value.toString();
  return typeof value === "object" ? JSON.stringify(value) : "";
}

function combine(base: Record<string, unknown>, dict: unknown, recursive: boolean): Record<string, unknown> {
  if (typeof dict !== "object" || dict === null || Array.isArray(dict)) throw new TemplateProblem(`combine expects dicts, got ${JSON.stringify(dict)}`, "combine merges maps: a|combine(b)");
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(dict as Record<string, unknown>)) {
    const previous = out[key];
    const merged =
      recursive && typeof previous === "object" && previous !== null && !Array.isArray(previous) && typeof value === "object" && value !== null && !Array.isArray(value)
        ? combine(previous as Record<string, unknown>, value, true)
        : value;
    Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Python's re syntax in the forms inventories use, as a JS RegExp. */
function pythonRegex(pattern: string, flags: string): RegExp {
  try {
    return new RegExp(pattern.replace(/\(\?P<(\w+)>/g, "(?<$1>").replace(/\(\?P=(\w+)\)/g, "\\k<$1>"), flags);
  } catch (error) {
    throw new TemplateProblem(`regex_replace: invalid pattern ${JSON.stringify(pattern)}: ${(error as Error).message}`, "write a Python regular expression");
  }
}

function pythonReplacement(replacement: string): string {
  return replacement.replace(/\$/g, "$$$$").replace(/\\g<(\w+)>/g, (_, name: string) => (/^\d+$/.test(name) ? `$${name}` : `$<${name}>`)).replace(/\\(\d)/g, "$$$1");
}

function dedupe(inputs: { name: string; origin: Origin }[]): { name: string; origin: Origin }[] {
  const seen = new Set<string>();
  return inputs.filter((input) => !seen.has(input.name) && seen.add(input.name));
}

function isReadableFile(file: string): boolean {
  try {
    const fd = openSync(file, "r");
    try {
      return fstatSync(fd).isFile();
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

function readSmall(file: string): Buffer {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_READ) throw new RangeError("too large");
    const buffer = Buffer.alloc(size);
    let length = 0;
    for (let count = -1; count !== 0 && length < size; length += count) count = readSync(fd, buffer, length, size - length, null);
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}
