// playlabs' users from an inventory: `users` (name, email, roles, sudo), `users_remove`,
// `deploy_user`, and each user's public keys in keys/<name>.pub (keys/<name> as playlabs' docs say).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { displayPath, fail } from "../diagnostics.js";
import { hostVariables } from "../load/hostvars.js";
import { readInventory } from "../load/inventory.js";
import type { Assignment, Origin } from "../types.js";

/** An account the ssh role makes: only users with a key get one (playlabs: "an ssh account because a key was found"). */
export interface PrepUser {
  name: string;
  /** Supplementary groups: the user's `roles.ssh` list, then `users`. */
  groups: string[];
  /** `roles.ssh` holds sudo: passwordless sudo (the accounts have no password). */
  isSudoer: boolean;
  /** Commands allowed through sudo without a password (playlabs' `sudo:` list). */
  sudo: string[];
  /** Whether `roles.docker` is set: the user joins the docker group. */
  isDockerUser: boolean;
  /** authorized_keys lines. */
  keys: string[];
}

export interface PrepUsers {
  users: PrepUser[];
  remove: string[];
  deployUser: string;
  /** keys/<deploy_user>.pub, when the inventory has one. */
  deployKeys: string[];
}

export const LOGIN_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const KEY_LINE = /^(?:ssh-[a-z0-9-]+|ecdsa-sha2-nistp(?:256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}(?: [^\n\r]*)?$/;

/** Reads the users of `-i DIR` (group all, then the host's host_vars); none without an inventory. */
export function readPrepUsers(dir: string | undefined, host: string | undefined, cwd: string): PrepUsers {
  if (dir === undefined) return { users: [], remove: [], deployUser: "deploy", deployKeys: [] };
  const inventory = readInventory([dir], [], cwd);
  // Ansible's precedence for the host (group all when none is named): the winning value of each name.
  const variables = hostVariables(inventory, host, "all");
  const last = (name: string): Assignment | undefined => variables.get(name)?.assignments[0];
  const users: PrepUser[] = [];
  const written = last("users");
  if (written !== undefined && !Array.isArray(written.value)) bad(written.origin, "users", "users is a list of {name, email, roles, sudo}");
  for (const entry of (written?.value as unknown[] | undefined) ?? []) {
    const origin = written?.origin ?? { kind: "default" };
    if (typeof entry !== "object" || entry === null) bad(origin, "users", "each user is a map with at least a name");
    const record = entry as Record<string, unknown>;
    const name = loginName(record["name"], origin, "users[].name");
    const roles = (typeof record["roles"] === "object" && record["roles"] !== null ? record["roles"] : {}) as Record<string, unknown>;
    const sshRoles = listOf(roles["ssh"]).map((group) => loginName(group, origin, `users[${name}].roles.ssh`));
    const sudo = listOf(record["sudo"]).map((command) => sudoCommand(command, origin, name));
    const keys = readKeys(dir, name, cwd);
    if (keys.length === 0) continue;
    users.push({
      name,
      groups: [...new Set([...sshRoles.filter((group) => group !== "sudo"), "users"])],
      isSudoer: sshRoles.includes("sudo"),
      sudo,
      isDockerUser: roles["docker"] !== undefined,
      keys,
    });
  }
  const removeWritten = last("users_remove");
  const remove = listOf(removeWritten?.value).map((entry) => {
    const name = typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>)["name"] : entry;
    return loginName(name, removeWritten?.origin ?? { kind: "default" }, "users_remove");
  });
  const deployWritten = last("deploy_user");
  const deployUser = deployWritten === undefined ? "deploy" : loginName(deployWritten.value, deployWritten.origin, "deploy_user");
  return { users: users.sort((a, b) => (a.name < b.name ? -1 : 1)), remove: [...new Set(remove)].sort(), deployUser, deployKeys: readKeys(dir, deployUser, cwd) };
}

function listOf(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function bad(origin: Origin, variable: string, hint: string): never {
  fail("users-format", { variable, fix: hint }, { origin, variable });
}

function loginName(value: unknown, origin: Origin, variable: string): string {
  if (typeof value !== "string" || !LOGIN_NAME.test(value)) {
    fail("invalid-login-name", { variable, value: JSON.stringify(value) as string | undefined ?? "nothing" }, { origin, variable });
  }
  return value;
}

/** A sudoers command: an absolute path and its arguments; sudoers' own separators are escaped. */
function sudoCommand(value: unknown, origin: Origin, user: string): string {
  if (typeof value !== "string" || !value.startsWith("/") || /[\0\n\r\\]/.test(value)) {
    fail("invalid-sudo-command", { user, value: JSON.stringify(value) as string | undefined ?? "nothing" }, { origin, variable: "sudo" });
  }
  return value.replace(/([,:=#])/g, "\\$1");
}

/** keys/<name>.pub, else keys/<name> when it holds public keys; each line checked. */
export function readKeys(dir: string, name: string, cwd: string): string[] {
  const file = [join(dir, "keys", `${name}.pub`), join(dir, "keys", name)].find((path) => existsSync(path));
  if (file === undefined) return [];
  const text = readFileSync(file, "utf8");
  if (!file.endsWith(".pub") && !KEY_LINE.test(text.split("\n")[0] ?? "")) return [];
  return parseKeys(text, displayPath(cwd, file));
}

/** authorized_keys lines without comments or options; anything else is a located error. */
export function parseKeys(text: string, display: string): string[] {
  const keys: string[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    if (!KEY_LINE.test(line)) {
      fail("invalid-public-key", { file: display, line: index + 1 }, { origin: { kind: "file", file: display, line: index + 1, col: 1 } });
    }
    keys.push(line);
  });
  return keys;
}
