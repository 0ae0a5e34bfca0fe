// How ssh reaches the hosts of an inventory group: ansible_host, ansible_user, ansible_port,
// from the inventory file's host entries and host_vars, as Ansible reads them.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { Inventory, Origin, Target } from "../types.js";

const INVENTORY_FILES = ["inventory.yml", "inventory.yaml", "hosts.yml", "hosts.yaml"];

/** The ship targets of the hosts in `group`, sorted by inventory order; label is the inventory name. */
export function readGroupTargets(inventory: Inventory, group: string): { label: string; target: Target }[] {
  const inline = readInlineHostVars(inventory.dir);
  const targets: { label: string; target: Target }[] = [];
  for (const [host, groups] of inventory.hosts) {
    if (!groups.includes(group)) continue;
    const vars = new Map<string, unknown>(inline.get(host) ?? []);
    for (const assignment of inventory.hostVars.get(host) ?? []) {
      if (assignment.path.length === 1) vars.set(assignment.path[0] ?? "", assignment.value);
    }
    const address = vars.get("ansible_host");
    const user = vars.get("ansible_user");
    const port = Number(vars.get("ansible_port"));
    const origin: Origin = { kind: "file", file: join(inventory.dir, "inventory.yml"), line: 1, col: 1 };
    targets.push({
      label: host,
      target: {
        host: typeof address === "string" && address !== "" ? address : host,
        user: typeof user === "string" && user !== "" ? user : undefined,
        port: Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined,
        origin,
      },
    });
  }
  return targets;
}

/** host -> variables written beside it in the inventory file (`hosts: {web1: {ansible_host: …}}`). */
function readInlineHostVars(dir: string): Map<string, [string, unknown][]> {
  const result = new Map<string, [string, unknown][]>();
  const file = INVENTORY_FILES.map((name) => join(dir, name)).find((path) => existsSync(path));
  if (file === undefined) return result;
  let data: unknown;
  try {
    data = parse(readFileSync(file, "utf8"));
  } catch {
    // readInventory already reported a broken file.
    return result;
  }
  const visit = (node: unknown): void => {
    if (typeof node !== "object" || node === null) return;
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === "hosts" && typeof value === "object" && value !== null) {
        for (const [host, vars] of Object.entries(value as Record<string, unknown>)) {
          if (typeof vars !== "object" || vars === null) continue;
          result.set(host, [...(result.get(host) ?? []), ...Object.entries(vars as Record<string, unknown>)]);
        }
      } else if (key !== "vars") {
        visit(value);
      }
    }
  };
  visit(data);
  return result;
}
