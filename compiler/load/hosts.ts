// How ssh reaches the hosts of an inventory group: ansible_host, ansible_user, ansible_port,
// from the inventory file's host entries and host_vars, as Ansible reads them.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isMap, isScalar, LineCounter, parseDocument, type Node } from "yaml";
import { displayPath, fail } from "../diagnostics.js";
import type { Inventory, Origin, Target } from "../types.js";

const INVENTORY_FILES = ["inventory.yml", "inventory.yaml", "hosts.yml", "hosts.yaml"];

/** A host variable and where it was written. */
interface HostVar {
  value: unknown;
  origin: Origin;
}

/**
 * The ship targets of the hosts in `group`, sorted by inventory order; label is the inventory name.
 * Addresses and users are checked as `@user@host` is: ssh reads a host starting with `-` as an option.
 */
export function readGroupTargets(inventory: Inventory, group: string): { label: string; target: Target }[] {
  const inline = readInlineHostVars(inventory.dir);
  const targets: { label: string; target: Target }[] = [];
  for (const [host, groups] of inventory.hosts) {
    if (!groups.includes(group)) continue;
    const vars = new Map<string, HostVar>(inline.get(host) ?? []);
    for (const assignment of inventory.hostVars.get(host) ?? []) {
      if (assignment.path.length === 1) vars.set(assignment.path[0] ?? "", { value: assignment.value, origin: assignment.origin });
    }
    const address = vars.get("ansible_host");
    const user = vars.get("ansible_user");
    const port = Number(vars.get("ansible_port")?.value);
    const fallback: Origin = { kind: "file", file: join(inventory.dir, "inventory.yml"), line: 1, col: 1 };
    const hostText = typeof address?.value === "string" && address.value !== "" ? address.value : host;
    const userText = typeof user?.value === "string" && user.value !== "" ? user.value : undefined;
    const bad = (what: string, variable: string, origin: Origin): never =>
      fail("invalid-value", `host ${host}: '${what}' is not an ssh ${variable === "ansible_user" ? "login name" : "address"}`, {
        origin,
        variable,
        hint: "ansible_host is a host name or an IP address, ansible_user a login name; ssh would read one starting with '-' as an option",
      });
    if (!isSshHost(hostText)) bad(hostText, address === undefined ? "the host name" : "ansible_host", address?.origin ?? fallback);
    if (userText !== undefined && !isSshUser(userText)) bad(userText, "ansible_user", user?.origin ?? fallback);
    targets.push({
      label: host,
      target: {
        host: hostText.replace(/^\[|\]$/g, ""),
        user: userText,
        port: Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined,
        origin: address?.origin ?? fallback,
      },
    });
  }
  return targets;
}

/** A host name, an IPv4 address or an IPv6 one (bracketed or not): never an ssh option. */
export function isSshHost(text: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(text) || /^\[?[0-9A-Fa-f]*:[0-9A-Fa-f:.]*\]?$/.test(text);
}

/** A login name, as `user@host` accepts it. */
export function isSshUser(text: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(text);
}

/** host -> variables written beside it in the inventory file (`hosts: {web1: {ansible_host: …}}`), with positions. */
function readInlineHostVars(dir: string): Map<string, [string, HostVar][]> {
  const result = new Map<string, [string, HostVar][]>();
  const file = INVENTORY_FILES.map((name) => join(dir, name)).find((path) => existsSync(path));
  if (file === undefined) return result;
  const lines = new LineCounter();
  const doc = parseDocument(readFileSync(file, "utf8"), { lineCounter: lines });
  // readInventory already reported a broken file.
  if (doc.errors.length > 0) return result;
  const display = displayPath(process.cwd(), file);
  const originOf = (node: Node): Origin => {
    const { line, col } = lines.linePos(node.range?.[0] ?? 0);
    return { kind: "file", file: display, line, col };
  };
  const visit = (node: unknown): void => {
    if (!isMap(node)) return;
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      if (key === "hosts" && isMap(pair.value)) {
        for (const hostPair of pair.value.items) {
          if (!isScalar(hostPair.key) || !isMap(hostPair.value)) continue;
          const host = String(hostPair.key.value);
          const vars: [string, HostVar][] = [];
          for (const varPair of hostPair.value.items) {
            if (!isScalar(varPair.key)) continue;
            const value = varPair.value as Node | null;
            vars.push([String(varPair.key.value), { value: isScalar(value) ? value.value : value?.toJSON(), origin: value === null ? originOf(varPair.key) : originOf(value) }]);
          }
          result.set(host, [...(result.get(host) ?? []), ...vars]);
        }
      } else if (key !== "vars") {
        visit(pair.value);
      }
    }
  };
  visit(doc.contents);
  return result;
}
