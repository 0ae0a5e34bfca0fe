// Which inventory hosts a deploy goes to, and how ssh reaches each: ansible_host, ansible_user,
// ansible_port (and the legacy ansible_ssh_*) from any layer, as Ansible reads them.
import { fail } from "../diagnostics.js";
import type { Inventory, Origin, Target } from "../types.js";
import { hostVariables } from "./hostvars.js";
import { TemplateEvaluator, type ScopeValue } from "./jinja.js";

/**
 * The hosts of a deploy, in inventory order: those of the group `<prefix>-<instance>` and those
 * playlabs' play pattern `*<prefix>-<instance>*` matches (a group or a host name containing it).
 */
export function deployHosts(inventory: Inventory, group: string): string[] {
  const groups = [...inventory.groups.keys()].filter((name) => name.includes(group));
  return [...inventory.hosts].filter(([host, member]) => host.includes(group) || member.some((name) => groups.includes(name))).map(([host]) => host);
}

/**
 * The ship targets of a deploy's hosts; label is the inventory name. Addresses and users are
 * checked as `@user@host` is: ssh reads a host starting with `-` as an option.
 */
export function readGroupTargets(inventory: Inventory, group: string): { label: string; target: Target }[] {
  return deployHosts(inventory, group).map((host) => ({ label: host, target: inventoryTarget(inventory, host, group) }));
}

/** `@web1` naming an inventory host: its connection variables; anything else is left as written. */
export function namedTarget(inventory: Inventory | undefined, target: Target, group: string): { label: string; target: Target } {
  const label = target.user === undefined && target.port === undefined ? target.host : `${target.user ?? ""}${target.user === undefined ? "" : "@"}${target.host}${target.port === undefined ? "" : `:${target.port}`}`;
  if (inventory === undefined || !inventory.hosts.has(target.host)) return { label, target };
  const found = inventoryTarget(inventory, target.host, group);
  return { label: target.host, target: { ...found, user: target.user ?? found.user, port: target.port ?? found.port } };
}

/** Legacy names first: Ansible's MAGIC_VARIABLE_MAPPING tries ansible_ssh_host before ansible_host. */
const CONNECTION = {
  host: ["ansible_ssh_host", "ansible_host"],
  user: ["ansible_ssh_user", "ansible_user"],
  port: ["ansible_ssh_port", "ansible_port"],
} as const;

function inventoryTarget(inventory: Inventory, host: string, group: string): Target {
  const variables = hostVariables(inventory, host, group);
  const magic = new Map<string, ScopeValue>([["inventory_hostname", { value: host, origin: { kind: "default" }, isSecret: false }]]);
  const evaluator = new TemplateEvaluator({ variables, extra: new Map(), magic, baseDir: inventory.dir, cwd: process.cwd(), secrets: [], environment: {} });
  const pick = (names: readonly string[]): { value: unknown; origin: Origin; variable: string } | undefined => {
    for (const name of names) {
      const leaf = evaluator.variable(name)?.assignments[0];
      if (leaf !== undefined && leaf.value !== null && leaf.value !== "") return { value: leaf.value, origin: leaf.origin, variable: name };
    }
    return undefined;
  };
  const address = pick(CONNECTION.host);
  const user = pick(CONNECTION.user);
  const port = pick(CONNECTION.port);
  const fallback: Origin = { kind: "file", file: inventory.dir, line: 1, col: 1 };
  const hostText = address === undefined ? host : textOf(address.value);
  const userText = user === undefined ? undefined : textOf(user.value);
  const bad = (what: string, variable: string, origin: Origin): never =>
    fail("invalid-host-address", { host, what, isUser: variable.endsWith("_user") }, { origin, variable });
  if (!isSshHost(hostText)) bad(hostText, address?.variable ?? "the host name", address?.origin ?? fallback);
  if (userText !== undefined && !isSshUser(userText)) bad(userText, user?.variable ?? "ansible_user", user?.origin ?? fallback);
  const portNumber = Number(port?.value);
  if (port !== undefined && !(Number.isInteger(portNumber) && portNumber > 0 && portNumber < 65536)) {
    fail("invalid-host-port", { host, variable: port.variable, value: textOf(port.value) }, { origin: port.origin, variable: port.variable });
  }
  return {
    host: hostText.replace(/^\[|\]$/g, ""),
    user: userText,
    port: port === undefined ? undefined : portNumber,
    origin: address?.origin ?? fallback,
  };
}

/** A host name, an IPv4 address or an IPv6 one (bracketed or not): never an ssh option. */
export function isSshHost(text: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(text) || /^\[?[0-9A-Fa-f]*:[0-9A-Fa-f:.]*\]?$/.test(text);
}

/** A login name, as `user@host` accepts it. */
export function isSshUser(text: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(text);
}

function textOf(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
