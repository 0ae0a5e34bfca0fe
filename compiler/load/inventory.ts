// Reads inventories as ansible-core 2.14 does (directories, YAML/JSON and INI files, host lists,
// group_vars/ and host_vars/ beside each), keeping file:line:col on every value.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type ScalarTag, type Tags } from "yaml";
import { diagnostic, displayPath, fail, PlcError, type Diagnostic } from "../diagnostics.js";
import type { Assignment, Inventory, InventoryGroup, Origin } from "../types.js";
import { decryptVault, isVaultText, VaultError, type VaultSecret } from "./vault.js";

class VaultScalar {
  constructor(readonly text: string) {}
}

const VAULT_TAG: ScalarTag = {
  tag: "!vault",
  resolve: (text: string) => new VaultScalar(text),
};

class UnsafeScalar {
  constructor(readonly text: string) {}
}

/** `!unsafe '{{ … }}'`: Ansible never templates it. */
const UNSAFE_TAG: ScalarTag = {
  tag: "!unsafe",
  resolve: (text: string) => new UnsafeScalar(text),
};

/** An inventory file larger than this is not a vars file (and /dev/zero never ends). */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Nodes reached through aliases per file: Ansible resolves aliases, and a bomb stops here. */
const MAX_ALIAS_NODES = 100_000;

interface FileContext {
  /** Path shown in diagnostics: relative to the working directory. */
  display: string;
  lines: LineCounter;
  doc: Document | undefined;
  /** Nodes expanded through aliases so far; undefined once the budget was exceeded (reported once). */
  aliasNodes: number | undefined;
  secrets: readonly VaultSecret[];
  isVaultFile: boolean;
  problems: Diagnostic[];
}

/** playlabs' own search when no -i is given (`cli/ansible.py` `find`), relative to the working directory. */
export const DISCOVERED_INVENTORIES = ["inventory.yaml", "inventory.yml", "inventory/inventory.yaml", "inventory/inventory.yml"];

/** Folders of a playlabs inventory that hold files for its filters, never inventory sources. */
const NOT_SOURCES = new Set(["passwords", "secrets", "keys"]);
/** Ansible's INVENTORY_IGNORE_EXTS: files with these endings inside an inventory directory are skipped. */
const IGNORED_EXTENSIONS = [".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".ini", ".cfg", ".retry"];

/**
 * Reads the inventory sources in -i order, as ansible-core 2.14 does: a directory (every file in
 * it, sorted), a YAML/JSON or INI file, or a comma list of hosts; group_vars/ and host_vars/ beside
 * each source.
 */
export function readInventory(sources: readonly string[], secrets: readonly VaultSecret[], cwd: string): Inventory {
  const problems: Diagnostic[] = [];
  const builder = new InventoryBuilder();
  const dirs: string[] = [];
  for (const source of sources) {
    const kind = kindOf(source);
    if (kind === "absent" && source.includes(",")) {
      readHostList(source, builder);
      continue;
    }
    if (kind === "absent") {
      fail("missing-inventory", { source }, { variable: "-i" });
    }
    const base = kind === "directory" ? source : dirname(source);
    if (kind === "directory") readSourceDir(source, secrets, cwd, problems, builder);
    else readSourceFile(source, secrets, cwd, problems, builder);
    dirs.push(base);
  }
  const { hosts, groups } = builder.finish();
  const groupVars = dirs.map((dir) => readEntityVars(join(dir, "group_vars"), secrets, cwd, problems));
  const hostVars = dirs.map((dir) => readEntityVars(join(dir, "host_vars"), secrets, cwd, problems));
  if (problems.length > 0) throw new PlcError(problems);
  return { dir: dirs[0] ?? cwd, dirs, hosts, groups, hostInline: builder.hostVars, groupVars, hostVars };
}

/** Groups, hosts and inline variables as the sources define them; `finish` computes membership and depth. */
class InventoryBuilder {
  readonly groups = new Map<string, InventoryGroup>();
  readonly hostOrder: string[] = [];
  readonly directGroups = new Map<string, string[]>();
  readonly hostVars = new Map<string, Assignment[][]>();

  group(name: string): InventoryGroup {
    let group = this.groups.get(name);
    if (group === undefined) {
      group = { name, parents: [], children: [], depth: 0, priority: 1, vars: [] };
      this.groups.set(name, group);
    }
    return group;
  }

  addChild(parent: string, child: string): void {
    const p = this.group(parent);
    const c = this.group(child);
    if (!p.children.includes(child)) p.children.push(child);
    if (!c.parents.includes(parent)) c.parents.push(parent);
  }

  addHost(host: string, group: string): void {
    this.group(group);
    if (!this.directGroups.has(host)) {
      this.hostOrder.push(host);
      this.directGroups.set(host, []);
    }
    const groups = this.directGroups.get(host) ?? [];
    if (!groups.includes(group)) groups.push(group);
  }

  addHostVars(host: string, vars: Assignment[]): void {
    if (vars.length === 0) return;
    const layers = this.hostVars.get(host) ?? [];
    layers.push(vars);
    this.hostVars.set(host, layers);
  }

  addGroupVars(group: string, vars: Assignment[]): void {
    if (vars.length === 0) return;
    const target = this.group(group);
    for (const assignment of vars) {
      if (assignment.path.length === 1 && assignment.path[0] === "ansible_group_priority" && Number.isInteger(Number(assignment.value))) {
        target.priority = Number(assignment.value);
      }
    }
    target.vars.push(vars.filter((assignment) => assignment.path[0] !== "ansible_group_priority"));
  }

  /** Every group but `all` is below `all`; a host in no group is in `ungrouped`; depth is the longest path from `all`. */
  finish(): { hosts: Map<string, string[]>; groups: Map<string, InventoryGroup> } {
    this.group("all");
    for (const group of this.groups.values()) {
      if (group.name !== "all" && group.parents.length === 0) this.addChild("all", group.name);
    }
    for (const host of this.hostOrder) {
      const direct: string[] = this.directGroups.get(host) ?? [];
      if (!direct.some((name) => name !== "all")) {
        this.addChild("all", "ungrouped");
        direct.push("ungrouped");
      }
    }
    const depthOf = new Map<string, number>();
    const visit = (name: string, depth: number, seen: Set<string>): void => {
      if (seen.has(name) || (depthOf.get(name) ?? -1) >= depth) return;
      depthOf.set(name, depth);
      seen.add(name);
      for (const child of this.groups.get(name)?.children ?? []) visit(child, depth + 1, seen);
      seen.delete(name);
    };
    visit("all", 0, new Set());
    for (const group of this.groups.values()) group.depth = depthOf.get(group.name) ?? 1;
    const hosts = new Map<string, string[]>();
    for (const host of this.hostOrder) {
      const all = new Set<string>(["all"]);
      const stack = [...(this.directGroups.get(host) ?? [])];
      while (stack.length > 0) {
        const name = stack.pop() ?? "";
        if (all.has(name) && name !== "all") continue;
        all.add(name);
        stack.push(...(this.groups.get(name)?.parents ?? []).filter((parent) => !all.has(parent)));
      }
      hosts.set(host, [...all]);
    }
    return { hosts, groups: this.groups };
  }
}

function readHostList(source: string, builder: InventoryBuilder): void {
  for (const item of source.split(",").map((text) => text.trim()).filter((text) => text !== "")) {
    const { name, port } = splitHostPort(item);
    builder.addHost(name, "ungrouped");
    if (port !== undefined) builder.addHostVars(name, [{ path: ["ansible_port"], value: port, origin: { kind: "argv", index: 0, text: source }, isSecret: false }]);
  }
}

function readSourceDir(dir: string, secrets: readonly VaultSecret[], cwd: string, problems: Diagnostic[], builder: InventoryBuilder): void {
  for (const entry of listDir(dir, cwd, problems)) {
    if (entry.startsWith(".") || entry === "group_vars" || entry === "host_vars" || entry === "vars_plugins" || NOT_SOURCES.has(entry)) continue;
    if (IGNORED_EXTENSIONS.some((ext) => entry.endsWith(ext))) continue;
    const path = join(dir, entry);
    const kind = kindOf(path);
    if (kind === "directory") readSourceDir(path, secrets, cwd, problems, builder);
    else readSourceFile(path, secrets, cwd, problems, builder, true);
  }
}

/** A YAML/JSON inventory when the file is a map (Ansible's yaml plugin), else an INI one. */
function readSourceFile(
  file: string,
  secrets: readonly VaultSecret[],
  cwd: string,
  problems: Diagnostic[],
  builder: InventoryBuilder,
  inDirectory = false,
): void {
  const extension = extname(file);
  const yamlCandidate = extension === "" || extension === ".yml" || extension === ".yaml" || extension === ".json";
  const local: Diagnostic[] = [];
  if (yamlCandidate) {
    const { doc, context } = parseYamlFile(file, secrets, cwd, local);
    if (doc !== undefined && isMap(doc.contents)) {
      try {
        doc.toJS({ maxAliasCount: 100 });
      } catch (error) {
        // yaml's own alias-bomb guard throws a ReferenceError; it is the file's fault, not plc's.
        if (!(error instanceof ReferenceError)) throw error;
        problems.push(aliasBomb(context, { kind: "file", file: context.display, line: 1, col: 1 }));
        return;
      }
      readYamlInventory(doc.contents, context, builder);
      problems.push(...local);
      return;
    }
    // A YAML error in a .yml file is the user's; an extension-less file may be INI.
    if (extension !== "" && (local.length > 0 || doc !== undefined)) {
      problems.push(...local);
      if (local.length === 0 && !inDirectory) {
        problems.push(
          diagnostic("inventory-not-map", { file: displayPath(cwd, file) }, { origin: { kind: "file", file: displayPath(cwd, file), line: 1, col: 1 } }),
        );
      }
      return;
    }
    if (local.some((problem) => problem.code !== "invalid-yaml")) {
      problems.push(...local.filter((problem) => problem.code !== "invalid-yaml"));
      return;
    }
  }
  const bytes = readBounded(file, cwd, problems);
  if (bytes === undefined) return;
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    problems.push(diagnostic("not-utf8", { file: displayPath(cwd, file) }, { origin: { kind: "file", file: displayPath(cwd, file), line: 1, col: 1 } }));
    return;
  }
  if (isVaultText(text)) {
    try {
      text = decryptVault(text, secrets);
    } catch (error) {
      if (!(error instanceof VaultError)) throw error;
      problems.push(vaultDiagnostic(error, { kind: "file", file: displayPath(cwd, file), line: 1, col: 1 }, undefined));
      return;
    }
  }
  // Ansible skips a file of an inventory directory that no plugin parses (a warning): so does plc.
  if (inDirectory) {
    const dryRun: Diagnostic[] = [];
    readIniInventory(text, displayPath(cwd, file), new InventoryBuilder(), dryRun);
    if (dryRun.length > 0) return;
  }
  readIniInventory(text, displayPath(cwd, file), builder, problems);
}

/** `all: {hosts, vars, children}` and groups beside `all`, with every inline variable located. */
function readYamlInventory(root: Node, context: FileContext, builder: InventoryBuilder): void {
  if (!isMap(root)) return;
  for (const pair of root.items) {
    if (!isScalar(pair.key)) continue;
    readYamlGroup(String(pair.key.value), dealias(pair.value as Node | null, context) ?? null, context, builder, new Set());
  }
}

function readYamlGroup(name: string, node: Node | null, context: FileContext, builder: InventoryBuilder, path: Set<string>): void {
  builder.group(name);
  if (node === null || (isScalar(node) && node.value === null)) return;
  if (!isMap(node)) {
    context.problems.push(
      diagnostic("group-not-map", { group: name }, { origin: originOf(node, context) }),
    );
    return;
  }
  if (path.has(name)) return;
  path.add(name);
  for (const pair of node.items) {
    if (!isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    const value = dealias(pair.value as Node | null, context) ?? null;
    if (key === "vars") {
      if (value !== null) builder.addGroupVars(name, mapAssignments([], value, context));
    } else if (key === "hosts") {
      if (value === null || !isMap(value)) continue;
      for (const hostPair of value.items) {
        if (!isScalar(hostPair.key)) continue;
        const hostNode = dealias(hostPair.value as Node | null, context) ?? null;
        const vars = hostNode === null ? [] : mapAssignments([], hostNode, context);
        for (const pattern of expandHostPattern(String(hostPair.key.value))) {
          const { name: host, port } = splitHostPort(pattern);
          builder.addHost(host, name);
          if (port !== undefined) {
            builder.addHostVars(host, [{ path: ["ansible_port"], value: port, origin: originOf(hostPair.key, context), isSecret: false }]);
          }
          builder.addHostVars(host, vars);
        }
      }
    } else if (key === "children") {
      if (value === null || !isMap(value)) continue;
      for (const childPair of value.items) {
        if (!isScalar(childPair.key)) continue;
        const child = String(childPair.key.value);
        builder.addChild(name, child);
        readYamlGroup(child, dealias(childPair.value as Node | null, context) ?? null, context, builder, path);
      }
    }
  }
  path.delete(name);
}

/** `web[01:03]` -> web01 web02 web03, `db-[a:c]` -> db-a db-b db-c, as Ansible expands host ranges. */
export function expandHostPattern(pattern: string): string[] {
  const match = /^(.*?)\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\](.*)$/.exec(pattern);
  if (match === null) return [pattern];
  const [, head = "", start = "", end = "", stepText, tail = ""] = match;
  const step = stepText === undefined ? 1 : Math.max(1, Number(stepText));
  const items: string[] = [];
  if (/^[0-9]+$/.test(start) && /^[0-9]+$/.test(end)) {
    const width = start.length > 1 && start.startsWith("0") ? start.length : 0;
    for (let index = Number(start); index <= Number(end) && items.length < 10_000; index += step) items.push(String(index).padStart(width, "0"));
  } else if (/^[a-zA-Z]$/.test(start) && /^[a-zA-Z]$/.test(end)) {
    for (let code = start.charCodeAt(0); code <= end.charCodeAt(0); code += step) items.push(String.fromCharCode(code));
  } else {
    return [pattern];
  }
  return items.flatMap((item) => expandHostPattern(`${head}${item}${tail}`));
}

/** `web1:2222` -> web1 with ansible_port 2222; an IPv6 address keeps its colons. */
function splitHostPort(text: string): { name: string; port: number | undefined } {
  const bracketed = /^\[([^\]]+)\]:([0-9]+)$/.exec(text);
  if (bracketed !== null) return { name: bracketed[1] ?? text, port: Number(bracketed[2]) };
  const plain = /^([^:]+):([0-9]+)$/.exec(text);
  if (plain !== null) return { name: plain[1] ?? text, port: Number(plain[2]) };
  return { name: text, port: undefined };
}

/** INI inventory: hosts before a section are ungrouped; `[g]`, `[g:vars]`, `[g:children]`; `k=v` after a host. */
function readIniInventory(text: string, display: string, builder: InventoryBuilder, problems: Diagnostic[]): void {
  let section = "ungrouped";
  let state: "hosts" | "vars" | "children" = "hosts";
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    const lineNo = index + 1;
    const colOf = (part: string): number => Math.max(1, raw.indexOf(part) + 1);
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const header = /^\[([^\]:]+)(?::(\w+))?\]\s*(?:[#;].*)?$/.exec(line);
    if (header !== null) {
      section = header[1] ?? "";
      const kind = header[2] ?? "hosts";
      if (kind !== "hosts" && kind !== "vars" && kind !== "children") {
        problems.push(diagnostic("ini-section", { file: display, line: lineNo, kind }, { origin: { kind: "file", file: display, line: lineNo, col: 1 } }));
        return;
      }
      state = kind;
      builder.group(section);
      return;
    }
    const origin = (part: string): Origin => ({ kind: "file", file: display, line: lineNo, col: colOf(part) });
    if (state === "vars") {
      const at = line.indexOf("=");
      if (at < 0) {
        problems.push(diagnostic("ini-vars-line", { file: display, line: lineNo, text: line }, { origin: origin(line) }));
        return;
      }
      const key = line.slice(0, at).trim();
      builder.addGroupVars(section, [{ path: [key], value: pythonLiteral(line.slice(at + 1).trim()), origin: origin(key), isSecret: false }]);
      return;
    }
    if (state === "children") {
      builder.addChild(section, line.split(/\s+/)[0] ?? line);
      return;
    }
    const words = shellWords(line);
    const [pattern = "", ...rest] = words;
    const vars: Assignment[] = [];
    for (const word of rest) {
      const at = word.indexOf("=");
      if (at <= 0) {
        problems.push(diagnostic("ini-host-var", { file: display, line: lineNo, word, host: pattern }, { origin: origin(word) }));
        continue;
      }
      const key = word.slice(0, at);
      vars.push({ path: [key], value: pythonLiteral(word.slice(at + 1)), origin: origin(key + "="), isSecret: false });
    }
    for (const host of expandHostPattern(pattern)) {
      const { name, port } = splitHostPort(host);
      builder.addHost(name, section);
      if (port !== undefined) builder.addHostVars(name, [{ path: ["ansible_port"], value: port, origin: origin(pattern), isSecret: false }]);
      builder.addHostVars(name, vars);
    }
  });
}

/** shlex.split with comments, as Ansible splits an INI host line. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let current: string | undefined;
  let quote: string | undefined;
  for (let index = 0; index < line.length; index++) {
    const char = line[index] ?? "";
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else if (char === "\\" && quote === '"' && index + 1 < line.length && /["\\$`]/.test(line[index + 1] ?? "")) current = (current ?? "") + (line[++index] ?? "");
      else current = (current ?? "") + char;
    } else if (char === "'" || char === '"') {
      quote = char;
      current ??= "";
    } else if (char === "\\" && index + 1 < line.length) {
      current = (current ?? "") + (line[++index] ?? "");
    } else if (/\s/.test(char)) {
      if (current !== undefined) words.push(current);
      current = undefined;
    } else if (char === "#" && current === undefined) {
      break;
    } else {
      current = (current ?? "") + char;
    }
  }
  if (current !== undefined) words.push(current);
  return words;
}

/**
 * Python's ast.literal_eval for the literals INI values use (ints, floats, quoted strings,
 * True/False/None, lists, dicts, tuples); anything else stays the text, as Ansible's INI plugin does.
 */
export function pythonLiteral(text: string): unknown {
  const parser = new LiteralParser(text);
  try {
    const value = parser.value();
    parser.space();
    return parser.done() ? value : text;
  } catch {
    return text;
  }
}

class LiteralParser {
  private at = 0;
  constructor(private readonly text: string) {}

  done(): boolean {
    return this.at >= this.text.length;
  }

  space(): void {
    while (/\s/.test(this.text[this.at] ?? "x")) this.at++;
  }

  value(): unknown {
    this.space();
    const char = this.text[this.at] ?? "";
    if (char === "[" || char === "(") return this.sequence(char === "[" ? "]" : ")");
    if (char === "{") return this.dict();
    if (char === "'" || char === '"') return this.string();
    const word = /^(?:[-+]?(?:\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|True|False|None)/.exec(this.text.slice(this.at));
    if (word === null) throw new SyntaxError("not a literal");
    this.at += word[0].length;
    if (word[0] === "True") return true;
    if (word[0] === "False") return false;
    if (word[0] === "None") return null;
    const number = Number(word[0].replace(/_/g, ""));
    if (!Number.isFinite(number) || /^[-+]?0\d/.test(word[0])) throw new SyntaxError("not a number");
    return number;
  }

  private expect(char: string): void {
    this.space();
    if (this.text[this.at] !== char) throw new SyntaxError(`expected ${char}`);
    this.at++;
  }

  private sequence(close: string): unknown[] {
    this.at++;
    const items: unknown[] = [];
    for (;;) {
      this.space();
      if (this.text[this.at] === close) break;
      items.push(this.value());
      this.space();
      if (this.text[this.at] === ",") this.at++;
      else break;
    }
    this.expect(close);
    return items;
  }

  private dict(): Record<string, unknown> {
    this.at++;
    const entries: [string, unknown][] = [];
    for (;;) {
      this.space();
      if (this.text[this.at] === "}") break;
      const key = this.value();
      this.expect(":");
      entries.push([String(key), this.value()]);
      this.space();
      if (this.text[this.at] === ",") this.at++;
      else break;
    }
    this.expect("}");
    return Object.fromEntries(entries);
  }

  private string(): string {
    const quote = this.text[this.at] ?? "";
    this.at++;
    let out = "";
    const escapes: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0" };
    for (;;) {
      const char = this.text[this.at++];
      if (char === undefined) throw new SyntaxError("unterminated string");
      if (char === quote) break;
      if (char === "\\") {
        const next = this.text[this.at++] ?? "";
        out += escapes[next] ?? "\\" + next;
      } else {
        out += char;
      }
    }
    this.space();
    // Adjacent literals concatenate, as in Python.
    if (this.text[this.at] === "'" || this.text[this.at] === '"') out += this.string();
    return out;
  }
}

type FileKind = "absent" | "directory" | "file" | "other";

/** What is at a path, following links; a dangling link or a loop counts as a file, to be reported when read. */
function kindOf(path: string): FileKind {
  try {
    const stat = statSync(path);
    return stat.isDirectory() ? "directory" : stat.isFile() ? "file" : "other";
  } catch {
    try {
      lstatSync(path);
      return "other";
    } catch {
      return "absent";
    }
  }
}

/**
 * The vars files of each entity (group or host name) in `dir`, one layer per file, as Ansible's
 * host_group_vars plugin finds them: the first of `<name>` (a directory, read recursively and
 * sorted, or an extension-less file), `<name>.yml`, `<name>.yaml`, `<name>.json`. Every name there
 * is read, group or not: the deploy group's vars apply even to an inventory without hosts.
 */
function readEntityVars(dir: string, secrets: readonly VaultSecret[], cwd: string, problems: Diagnostic[]): Map<string, Assignment[][]> {
  const result = new Map<string, Assignment[][]>();
  if (kindOf(dir) === "absent") return result;
  const entries = listDir(dir, cwd, problems).filter((entry) => !entry.startsWith("."));
  const present = new Set(entries);
  const names = new Set(entries.map((entry) => entry.replace(/\.(?:ya?ml|json)$/, "")));
  for (const name of names) {
    const found = ["", ".yml", ".yaml", ".json"].map((ext) => name + ext).find((entry) => present.has(entry));
    if (found === undefined) continue;
    const path = join(dir, found);
    const files = kindOf(path) === "directory" ? varsDirFiles(path, cwd, problems) : [path];
    result.set(name, files.map((file) => readVarsFile(file, secrets, cwd, problems)));
  }
  return result;
}

function varsDirFiles(dir: string, cwd: string, problems: Diagnostic[]): string[] {
  const found: string[] = [];
  for (const entry of listDir(dir, cwd, problems)) {
    if (entry.startsWith(".") || entry.endsWith("~")) continue;
    const extension = extname(entry);
    const path = join(dir, entry);
    const kind = kindOf(path);
    if (kind === "directory" && extension === "") found.push(...varsDirFiles(path, cwd, problems));
    else if (kind !== "directory" && (extension === "" || extension === ".yml" || extension === ".yaml" || extension === ".json")) found.push(path);
  }
  return found;
}

function listDir(dir: string, cwd: string, problems: Diagnostic[]): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (error) {
    problems.push(unreadable(dir, cwd, error));
    return [];
  }
}

function unreadable(file: string, cwd: string, error: unknown): Diagnostic {
  const display = displayPath(cwd, file);
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    ENOENT: "is a symbolic link to nothing (dangling)",
    ELOOP: "is a symbolic link loop",
    EACCES: "cannot be read: permission denied",
    EPERM: "cannot be read: permission denied",
    EISDIR: "is a directory",
  };
  return diagnostic("unreadable-file", { file: display, reason: reasons[code ?? ""] ?? `cannot be read (${code ?? String(error)})`, isPermission: code === "EACCES" || code === "EPERM" }, { origin: { kind: "file", file: display, line: 1, col: 1 } });
}

/** Reads a regular file of bounded size; a FIFO, a device or a huge file is refused without reading it. */
function readBounded(file: string, cwd: string, problems: Diagnostic[]): Buffer | undefined {
  const display = displayPath(cwd, file);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    problems.push(unreadable(file, cwd, error));
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    const located = { origin: { kind: "file" as const, file: display, line: 1, col: 1 } };
    if (!stat.isFile()) {
      const what = stat.isFIFO() ? "a FIFO" : stat.isCharacterDevice() || stat.isBlockDevice() ? "a device" : stat.isDirectory() ? "a directory" : "not a regular file";
      problems.push(diagnostic("not-regular-file", { file: display, what }, located));
      return undefined;
    }
    if (stat.size > MAX_FILE_BYTES) {
      problems.push(
        diagnostic("file-too-big", { file: display, size: stat.size, limit: MAX_FILE_BYTES }, located),
      );
      return undefined;
    }
    // Read at most one byte past the limit: the file may grow between fstat and read.
    const buffer = Buffer.alloc(Math.min(stat.size, MAX_FILE_BYTES) + 1);
    let length = 0;
    for (let count = -1; count !== 0 && length < buffer.length; length += count) {
      count = readSync(fd, buffer, length, buffer.length - length, null);
    }
    if (length > MAX_FILE_BYTES) {
      problems.push(diagnostic("file-grew", { file: display, limit: MAX_FILE_BYTES }, located));
      return undefined;
    }
    return buffer.subarray(0, length);
  } catch (error) {
    problems.push(unreadable(file, cwd, error));
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The first key written twice in one map, as a yaml error would say it (Ansible would silently keep the last). */
function duplicateKey(root: Node | null, lines: LineCounter): { message: string; linePos: [{ line: number; col: number }] } | undefined {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isSeq(node)) stack.push(...node.items);
    if (!isMap(node)) continue;
    const seen = new Set<unknown>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (seen.has(key) && key !== "<<") {
        return { message: `Map keys must be unique: '${String(key)}' is written twice`, linePos: [lines.linePos((pair.key as Node).range?.[0] ?? 0)] };
      }
      seen.add(key);
      stack.push(pair.value);
    }
  }
  return undefined;
}

function aliasBomb(context: FileContext, origin: Origin): Diagnostic {
  return diagnostic("yaml-alias-bomb", { file: context.display, limit: MAX_ALIAS_NODES }, { origin });
}

/** The node an alias stands for, counting what it expands to; undefined past the budget. */
function dealias(node: Node | null, context: FileContext): Node | null | undefined {
  if (node === null || !isAlias(node)) return node;
  const target = context.doc === undefined ? undefined : (node.resolve(context.doc) as Node | undefined);
  if (target === undefined) return null;
  if (context.aliasNodes === undefined) return undefined;
  context.aliasNodes += countNodes(target, context, MAX_ALIAS_NODES - context.aliasNodes + 1);
  if (context.aliasNodes > MAX_ALIAS_NODES) {
    context.problems.push(aliasBomb(context, originOf(node, context)));
    context.aliasNodes = undefined;
    return undefined;
  }
  return target;
}

/** Nodes a value expands to with its own aliases expanded, stopping once past the limit. */
function countNodes(node: Node, context: FileContext, limit: number): number {
  let count = 0;
  const stack: unknown[] = [node];
  while (stack.length > 0 && count <= limit) {
    const item = stack.pop();
    count++;
    if (isAlias(item) && context.doc !== undefined) stack.push(item.resolve(context.doc));
    else if (isMap(item)) for (const pair of item.items) stack.push(pair.value);
    else if (isSeq(item)) stack.push(...item.items);
  }
  return count;
}

function readVarsFile(file: string, secrets: readonly VaultSecret[], cwd: string, problems: Diagnostic[]): Assignment[] {
  const { doc, context } = parseYamlFile(file, secrets, cwd, problems);
  if (doc === undefined || !isMap(doc.contents)) return [];
  const assignments: Assignment[] = [];
  for (const assignment of mapAssignments([], doc.contents, context)) assignments.push(assignment);
  return assignments;
}

/** One assignment per leaf of a map; `<<: *anchor` merges come first, so the map's own keys win. */
function mapAssignments(path: string[], map: Node, context: FileContext): Assignment[] {
  if (!isMap(map)) return [];
  const merged: Assignment[] = [];
  const own: Assignment[] = [];
  for (const pair of map.items) {
    if (!isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    const child = dealias(pair.value as Node | null, context);
    if (child === undefined) continue;
    if (key === "<<" && !pair.key.type?.startsWith("QUOTE")) {
      const sources = isSeq(child) ? child.items.map((item) => dealias(item as Node, context)) : [child];
      for (const source of sources) if (source != null) merged.push(...mapAssignments(path, source, context));
      continue;
    }
    own.push(...nodeAssignments([...path, key], child ?? pair.key, context, child === null));
  }
  return [...merged, ...own];
}

function nodeAssignments(path: string[], node: Node, context: FileContext, isNull = false): Assignment[] {
  if (isMap(node) && node.items.length > 0) return mapAssignments(path, node, context);
  const origin = originOf(node, context);
  const { value, isSecret } = isNull ? { value: null, isSecret: false } : plainValue(node, origin, path, context);
  const unsafe = isScalar(node) && node.value instanceof UnsafeScalar;
  return [{ path, value, origin, isSecret: isSecret || context.isVaultFile, ...(unsafe ? { unsafe } : {}) }];
}

/** The JS value of a node, with `!vault` scalars decrypted and marked secret. */
function plainValue(given: Node, origin: Origin, path: string[], context: FileContext): { value: unknown; isSecret: boolean } {
  const node = dealias(given, context);
  if (node === null || node === undefined) return { value: null, isSecret: false };
  if (isScalar(node)) {
    if (node.value instanceof VaultScalar) {
      return { value: decryptOrReport(node.value.text, origin, path, context), isSecret: true };
    }
    if (node.value instanceof UnsafeScalar) return { value: node.value.text, isSecret: false };
    return { value: node.value, isSecret: false };
  }
  if (isSeq(node)) {
    let isSecret = false;
    const items = node.items.map((item) => {
      const child = plainValue(item as Node, originOf(item as Node, context), path, context);
      isSecret ||= child.isSecret;
      return child.value;
    });
    return { value: items, isSecret };
  }
  if (isMap(node)) {
    let isSecret = false;
    const entries: [string, unknown][] = node.items.map((pair) => {
      const child = plainValue(pair.value as Node, originOf(pair.value as Node, context), path, context);
      isSecret ||= child.isSecret;
      return [String(isScalar(pair.key) ? pair.key.value : pair.key), child.value];
    });
    // Object.fromEntries defines keys, so a `__proto__` key stays a key (validate refuses it, located).
    return { value: Object.fromEntries(entries), isSecret };
  }
  return { value: null, isSecret: false };
}

function decryptOrReport(text: string, origin: Origin, path: string[], context: FileContext): string {
  try {
    return decryptVault(text, context.secrets);
  } catch (error) {
    if (!(error instanceof VaultError)) throw error;
    context.problems.push(vaultDiagnostic(error, origin, path.join(".")));
    return "";
  }
}

function vaultDiagnostic(error: VaultError, origin: Origin, variable: string | undefined): Diagnostic {
  return diagnostic("vault-decrypt", { variable, problem: error.message, isPassword: error.reason === "wrong-password" || error.reason === "not-vault" }, { origin, variable });
}

function originOf(node: Node | null, context: FileContext): Origin {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = context.lines.linePos(offset);
  return { kind: "file", file: context.display, line, col };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/**
 * YAML 1.1 as PyYAML (hence Ansible) resolves plain scalars: `yes`/`off` are booleans but `y`/`n`
 * are not, `0755` is octal, `1e3` is a string (a float needs a dot and a signed exponent), `<<`
 * stays a key (merges are applied by mapAssignments) and dates stay text.
 */
function pyyamlTags(tags: Tags): Tags {
  const kept = tags.filter((tag) => {
    const name = typeof tag === "string" ? tag : tag.tag;
    if (name === "tag:yaml.org,2002:bool" || name === "tag:yaml.org,2002:merge" || name === "tag:yaml.org,2002:timestamp") return false;
    return !(name === "tag:yaml.org,2002:float" && typeof tag !== "string" && "format" in tag && tag.format === "EXP");
  });
  const bool = (value: boolean, test: RegExp): ScalarTag => ({ tag: "tag:yaml.org,2002:bool", default: true, test, resolve: () => value });
  return [
    ...kept,
    bool(true, /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/),
    bool(false, /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/),
    { tag: "tag:yaml.org,2002:float", default: true, format: "EXP", test: /^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)[eE][-+][0-9]+$/, resolve: (text: string) => Number.parseFloat(text.replace(/_/g, "")) },
    VAULT_TAG,
    UNSAFE_TAG,
  ];
}

function parseYamlFile(
  file: string,
  secrets: readonly VaultSecret[],
  cwd: string,
  problems: Diagnostic[],
): { doc: Document | undefined; context: FileContext } {
  const display = displayPath(cwd, file);
  const lines = new LineCounter();
  const context: FileContext = { display, lines, doc: undefined, aliasNodes: 0, secrets, isVaultFile: false, problems };
  const bytes = readBounded(file, cwd, problems);
  if (bytes === undefined) return { doc: undefined, context };
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    problems.push(
      diagnostic("not-utf8", { file: display }, { origin: { kind: "file", file: display, line: 1, col: 1 } }),
    );
    return { doc: undefined, context };
  }
  if (isVaultText(text)) {
    context.isVaultFile = true;
    try {
      text = decryptVault(text, secrets);
    } catch (error) {
      if (!(error instanceof VaultError)) throw error;
      problems.push(vaultDiagnostic(error, { kind: "file", file: display, line: 1, col: 1 }, undefined));
      return { doc: undefined, context };
    }
  }
  // uniqueKeys is checked below: yaml's own check compares every pair, 40 s for 20,000 env keys.
  const doc = parseDocument(text, { lineCounter: lines, customTags: pyyamlTags, uniqueKeys: false, version: "1.1" });
  const error = doc.errors[0] ?? duplicateKey(doc.contents, lines);
  if (error) {
    const position = error.linePos?.[0] ?? { line: 1, col: 1 };
    problems.push(
      diagnostic("invalid-yaml", { problem: error.message.split("\n")[0] ?? "" }, { origin: { kind: "file", file: display, line: position.line, col: position.col } }),
    );
    return { doc: undefined, context };
  }
  context.doc = doc;
  return { doc, context };
}
