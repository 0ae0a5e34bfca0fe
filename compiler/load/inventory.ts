// Reads an inventory directory in Ansible layout, keeping file:line:col on every value.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type ScalarTag } from "yaml";
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

interface FileContext {
  /** Path shown in diagnostics: relative to the working directory. */
  display: string;
  lines: LineCounter;
  secrets: readonly VaultSecret[];
  isVaultFile: boolean;
  problems: Diagnostic[];
}

/** Reads hosts, groups, group_vars and host_vars of an inventory directory. */
export function readInventory(dir: string, secrets: readonly VaultSecret[], cwd: string): Inventory {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    fail("missing-inventory", `inventory directory '${dir}' does not exist`, {
      variable: "-i",
      hint: "give the directory holding inventory.yml and group_vars/ (plc init DIR makes one)",
    });
  }
  const problems: Diagnostic[] = [];
  const hosts = new Map<string, string[]>();
  const inventoryFile = INVENTORY_FILES.map((name) => join(dir, name)).find((file) => existsSync(file));
  if (inventoryFile !== undefined) {
    const { data } = parseYamlFile(inventoryFile, secrets, cwd, problems);
    collectHosts(data, "all", hosts);
  }
  const groupVars = readVarsDir(join(dir, "group_vars"), secrets, cwd, problems);
  const hostVars = readVarsDir(join(dir, "host_vars"), secrets, cwd, problems);
  if (problems.length > 0) throw new PlcError(problems);
  return { dir, hosts, groupVars, hostVars };
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
  if (!existsSync(dir)) return result;
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    let name: string;
    let files: string[];
    if (statSync(path).isDirectory()) {
      name = entry;
      files = readdirSync(path)
        .filter((file) => /\.ya?ml$/.test(file) || !file.includes("."))
        .sort()
        .map((file) => join(path, file))
        .filter((file) => statSync(file).isFile());
    } else if (/\.ya?ml$/.test(entry)) {
      name = entry.replace(/\.ya?ml$/, "");
      files = [path];
    } else {
      continue;
    }
    const assignments = result.get(name) ?? [];
    for (const file of files) assignments.push(...readVarsFile(file, secrets, cwd, problems));
    result.set(name, assignments);
  }
  return result;
}

function readVarsFile(file: string, secrets: readonly VaultSecret[], cwd: string, problems: Diagnostic[]): Assignment[] {
  const { doc, context } = parseYamlFile(file, secrets, cwd, problems);
  if (doc === undefined || !isMap(doc.contents)) return [];
  const assignments: Assignment[] = [];
  for (const pair of doc.contents.items) {
    if (!isScalar(pair.key)) continue;
    const name = String(pair.key.value);
    const valueNode = pair.value as Node | null;
    assignments.push(...nodeAssignments([name], valueNode ?? pair.key, context, valueNode === null));
  }
  return assignments;
}

function nodeAssignments(path: string[], node: Node, context: FileContext, isNull = false): Assignment[] {
  if (isMap(node) && node.items.length > 0) {
    return node.items.flatMap((pair) => {
      if (!isScalar(pair.key)) return [];
      const child = pair.value as Node | null;
      return nodeAssignments([...path, String(pair.key.value)], child ?? pair.key, context, child === null);
    });
  }
  const origin = originOf(node, context);
  const { value, isSecret } = isNull ? { value: null, isSecret: false } : plainValue(node, origin, path, context);
  return [{ path, value, origin, isSecret: isSecret || context.isVaultFile }];
}

/** The JS value of a node, with `!vault` scalars decrypted and marked secret. */
function plainValue(node: Node, origin: Origin, path: string[], context: FileContext): { value: unknown; isSecret: boolean } {
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
): { doc: ReturnType<typeof parseDocument> | undefined; data: unknown; context: FileContext } {
  const display = displayPath(cwd, file);
  const lines = new LineCounter();
  const context: FileContext = { display, lines, secrets, isVaultFile: false, problems };
  let text: string;
  try {
    text = UTF8.decode(readFileSync(file));
  } catch {
    problems.push(
      diagnostic("invalid-text", `${display} is not valid UTF-8`, {
        origin: { kind: "file", file: display, line: 1, col: 1 },
        hint: "save the file as UTF-8",
      }),
    );
    return { doc: undefined, data: undefined, context };
  }
  if (isVaultText(text)) {
    context.isVaultFile = true;
    try {
      text = decryptVault(text, secrets);
    } catch (error) {
      if (!(error instanceof VaultError)) throw error;
      problems.push(vaultDiagnostic(error, { kind: "file", file: display, line: 1, col: 1 }, undefined));
      return { doc: undefined, data: undefined, context };
    }
  }
  const doc = parseDocument(text, { lineCounter: lines, customTags: [VAULT_TAG], uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const position = error.linePos?.[0] ?? { line: 1, col: 1 };
    problems.push(
      diagnostic("invalid-yaml", `invalid YAML: ${error.message.split("\n")[0] ?? ""}`, {
        origin: { kind: "file", file: display, line: position.line, col: position.col },
        hint: "fix the YAML syntax at this line (indentation, quotes, a missing ':')",
      }),
    );
    return { doc: undefined, data: undefined, context };
  }
  return { doc, data: doc.toJS({ maxAliasCount: 100 }) as unknown, context };
}
