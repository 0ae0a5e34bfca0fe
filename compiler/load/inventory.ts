// Reads an inventory directory in Ansible layout, keeping file:line:col on every value.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type ScalarTag } from "yaml";
import { diagnostic, displayPath, fail, PlcError, type Diagnostic } from "../diagnostics.js";
import type { Assignment, Inventory, Origin } from "../types.js";
import { decryptVault, isVaultText, VaultError, type VaultSecret } from "./vault.js";

class VaultScalar {
  constructor(readonly text: string) {}
}

const VAULT_TAG: ScalarTag = {
  tag: "!vault",
  resolve: (text: string) => new VaultScalar(text),
};

const INVENTORY_FILES = ["inventory.yml", "inventory.yaml", "hosts.yml", "hosts.yaml"];

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

/** Reads hosts, groups, group_vars and host_vars of an inventory directory. */
export function readInventory(dir: string, secrets: readonly VaultSecret[], cwd: string): Inventory {
  if (kindOf(dir) !== "directory") {
    fail("missing-inventory", `inventory directory '${dir}' does not exist`, {
      variable: "-i",
      hint: "give the directory holding inventory.yml and group_vars/ (plc init DIR makes one)",
    });
  }
  const problems: Diagnostic[] = [];
  const hosts = new Map<string, string[]>();
  const inventoryFile = INVENTORY_FILES.map((name) => join(dir, name)).find((file) => kindOf(file) !== "absent");
  if (inventoryFile !== undefined) {
    const { doc, context } = parseYamlFile(inventoryFile, secrets, cwd, problems);
    if (doc !== undefined) {
      try {
        collectHosts(doc.toJS({ maxAliasCount: 100 }), "all", hosts);
      } catch (error) {
        // yaml's own alias-bomb guard throws a ReferenceError; it is the file's fault, not plc's.
        if (!(error instanceof ReferenceError)) throw error;
        problems.push(aliasBomb(context, { kind: "file", file: context.display, line: 1, col: 1 }));
      }
    }
  }
  const groupVars = readVarsDir(join(dir, "group_vars"), secrets, cwd, problems);
  const hostVars = readVarsDir(join(dir, "host_vars"), secrets, cwd, problems);
  if (problems.length > 0) throw new PlcError(problems);
  return { dir, hosts, groupVars, hostVars };
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

function collectHosts(node: unknown, group: string, hosts: Map<string, string[]>, parents: string[] = []): void {
  if (typeof node !== "object" || node === null) return;
  const record = node as Record<string, unknown>;
  const groups = [...parents, group];
  const hostsOfGroup = record["hosts"];
  if (typeof hostsOfGroup === "object" && hostsOfGroup !== null) {
    for (const host of Object.keys(hostsOfGroup)) {
      const known = hosts.get(host) ?? ["all"];
      for (const name of groups) if (!known.includes(name)) known.push(name);
      hosts.set(host, known);
    }
  }
  const children = record["children"];
  if (typeof children === "object" && children !== null) {
    for (const [child, value] of Object.entries(children)) collectHosts(value, child, hosts, groups);
  }
  if (group === "all") {
    // A YAML inventory may list groups at top level, beside `all`.
    for (const [name, value] of Object.entries(record)) {
      if (name !== "all" && name !== "hosts" && name !== "children" && name !== "vars") collectHosts(value, name, hosts, ["all"]);
      if (name === "all") collectHosts(value, "all", hosts);
    }
  }
}

/** `group_vars/<name>.yml` and `group_vars/<name>/*.yml`, files sorted by name as Ansible does. */
function readVarsDir(dir: string, secrets: readonly VaultSecret[], cwd: string, problems: Diagnostic[]): Map<string, Assignment[]> {
  const result = new Map<string, Assignment[]>();
  if (kindOf(dir) === "absent") return result;
  for (const entry of listDir(dir, cwd, problems)) {
    const path = join(dir, entry);
    let name: string;
    let files: string[];
    if (kindOf(path) === "directory") {
      name = entry;
      // Extension-less names are vars files too (Ansible reads them); other things there are skipped.
      files = listDir(path, cwd, problems)
        .filter((file) => /\.ya?ml$/.test(file) || !file.includes("."))
        .map((file) => join(path, file))
        .filter((file) => /\.ya?ml$/.test(file) || kindOf(file) === "file");
    } else if (/\.ya?ml$/.test(entry)) {
      name = entry.replace(/\.ya?ml$/, "");
      files = [path];
    } else {
      continue;
    }
    const assignments = result.get(name) ?? [];
    // A loop, not push(...): a file of 100,000 keys would overflow the call's argument list.
    for (const file of files) for (const assignment of readVarsFile(file, secrets, cwd, problems)) assignments.push(assignment);
    result.set(name, assignments);
  }
  return result;
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
  return diagnostic("unreadable-file", `${display} ${reasons[code ?? ""] ?? `cannot be read (${code ?? String(error)})`}`, {
    origin: { kind: "file", file: display, line: 1, col: 1 },
    hint: code === "EACCES" || code === "EPERM" ? "make it readable by the user running plc" : "fix or remove it",
  });
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
      problems.push(diagnostic("unreadable-file", `${display} is ${what}, not a regular file`, { ...located, hint: "an inventory holds regular YAML files only" }));
      return undefined;
    }
    if (stat.size > MAX_FILE_BYTES) {
      problems.push(
        diagnostic("unreadable-file", `${display} is ${stat.size} bytes, more than the ${MAX_FILE_BYTES} an inventory file may have`, {
          ...located,
          hint: "split it, or check it is the file you meant",
        }),
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
      problems.push(diagnostic("unreadable-file", `${display} grew past ${MAX_FILE_BYTES} bytes while read`, located));
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
  return diagnostic("invalid-yaml", `${context.display}: aliases expand to more than ${MAX_ALIAS_NODES} nodes`, {
    origin,
    hint: "an alias of an alias of … multiplies; write the values out, or use fewer nested aliases",
  });
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
  return [{ path, value, origin, isSecret: isSecret || context.isVaultFile }];
}

/** The JS value of a node, with `!vault` scalars decrypted and marked secret. */
function plainValue(given: Node, origin: Origin, path: string[], context: FileContext): { value: unknown; isSecret: boolean } {
  const node = dealias(given, context);
  if (node === null || node === undefined) return { value: null, isSecret: false };
  if (isScalar(node)) {
    if (node.value instanceof VaultScalar) {
      return { value: decryptOrReport(node.value.text, origin, path, context), isSecret: true };
    }
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
  const hint =
    error.reason === "wrong-password" || error.reason === "not-vault"
      ? "give the vault password with --vault-password-file FILE (or ANSIBLE_VAULT_PASSWORD_FILE)"
      : "re-encrypt the value with ansible-vault encrypt_string";
  return diagnostic("vault-error", `cannot decrypt ${variable ?? "this vault file"}: ${error.message}`, { origin, variable, hint });
}

function originOf(node: Node | null, context: FileContext): Origin {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = context.lines.linePos(offset);
  return { kind: "file", file: context.display, line, col };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

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
      diagnostic("invalid-text", `${display} is not valid UTF-8`, {
        origin: { kind: "file", file: display, line: 1, col: 1 },
        hint: "save the file as UTF-8",
      }),
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
  const doc = parseDocument(text, { lineCounter: lines, customTags: [VAULT_TAG], uniqueKeys: false });
  const error = doc.errors[0] ?? duplicateKey(doc.contents, lines);
  if (error) {
    const position = error.linePos?.[0] ?? { line: 1, col: 1 };
    problems.push(
      diagnostic("invalid-yaml", `invalid YAML: ${error.message.split("\n")[0] ?? ""}`, {
        origin: { kind: "file", file: display, line: position.line, col: position.col },
        hint: "fix the YAML syntax at this line (indentation, quotes, a missing ':')",
      }),
    );
    return { doc: undefined, context };
  }
  context.doc = doc;
  return { doc, context };
}
