// playlabs' own spellings of plc variables, the variables it read but never used, and its
// inventory names that carry no `<prefix>_<instance>_` (`<prefix>_slack_icon`). Pure: no I/O.
import { diagnostic, formatOrigin, PlcError, type Diagnostic } from "../diagnostics.js";
import type { Assignment, PasswordFile, ResolvedValue, WrittenSpec } from "../types.js";

/** A playlabs name read as the plc variable it is (the same value, another spelling). */
const ALIASES = new Map<string, { path: string[]; isSecret?: boolean }>(Object.entries({
  // vars/main.yml reads only `<pv>_backup_lftp_dsn`; docs/projects.rst says lftp_dsn: both are one variable.
  backup_lftp_dsn: { path: ["lftp_dsn"] },
  // tasks/main.yml: the post-deploy URL check retries `timeout` times, one second apart.
  timeout: { path: ["healthcheck_timeout"] },
  // plugins/postgres/vars.yml: POSTGRES_PASSWORD and DB_PASSWORD.
  postgres_password: { path: ["env", "DB_PASSWORD"], isSecret: true },
}));

/** Read by playlabs' vars/main.yml and used nowhere in playlabs: accepted, with a note. */
const UNUSED = new Set(["secure", "letsencrypt_environment"]);

/** playlabs' postgres directories: plc keeps them at playlabs' defaults, relative to home. */
const POSTGRES_HOMES = new Map([
  ["postgres_home", "postgres"],
  ["postgres_data_home", "postgres/data"],
  ["postgres_run_home", "postgres/run"],
]);

/** Every name plc reads for playlabs besides its schema's (for "did you mean"). */
export const PLAYLABS_NAMES: readonly string[] = [...ALIASES.keys(), ...UNUSED, ...POSTGRES_HOMES.keys()];

/** What renamePlaylabs set aside for checks that need the resolved home. */
export interface PlaylabsPending {
  postgresHomes: Assignment[];
}

/**
 * Renames playlabs' spellings to plc's variables (keeping where each was written), drops the
 * variables playlabs never used (a note each), and sets aside the postgres directories.
 */
export function renamePlaylabs(assignments: readonly Assignment[], notes: string[], pending: PlaylabsPending): Assignment[] {
  const result: Assignment[] = [];
  for (const assignment of assignments) {
    const [head = "", ...rest] = assignment.path;
    const alias = ALIASES.get(head);
    if (alias !== undefined) {
      // playlabs' default postgres_password is '': no password; plc generates one on the host instead.
      if (head === "postgres_password" && assignment.value === "") {
        notes.push(`postgres_password is empty (${formatOrigin(assignment.origin)}): plc generates DB_PASSWORD on the host at the first deploy instead of running postgres without a password`);
        continue;
      }
      result.push({ ...assignment, path: [...alias.path, ...rest], isSecret: assignment.isSecret || alias.isSecret === true });
    } else if (UNUSED.has(head)) {
      notes.push(`${head} (${formatOrigin(assignment.origin)}) is read by playlabs and used nowhere; plc ignores it too`);
    } else if (POSTGRES_HOMES.has(head)) {
      pending.postgresHomes.push(assignment);
    } else {
      result.push(assignment);
    }
  }
  return result;
}

/** `<prefix>_slack_icon` and `<prefix>-<instance>_email_from`: playlabs reads them under these names. */
export function playlabsGlobals(layers: readonly (readonly Assignment[])[], prefix: string, instance: string): Assignment[] {
  const names = new Map([
    [`${prefix}_slack_icon`, "slack_icon"],
    [`${prefix}-${instance}_email_from`, "email_from"],
  ]);
  const result: Assignment[] = [];
  for (const layer of layers) {
    for (const assignment of layer) {
      const name = names.get(assignment.path[0] ?? "");
      if (name !== undefined && assignment.path.length === 1) result.push({ ...assignment, path: [name] });
    }
  }
  return result;
}

/** The postgres directories playlabs let one move: plc accepts only playlabs' defaults under home. */
export function checkPostgresHomes(pending: PlaylabsPending, home: string): void {
  const problems: Diagnostic[] = [];
  for (const assignment of pending.postgresHomes) {
    const name = assignment.path.join(".");
    const expected = `${home}/${POSTGRES_HOMES.get(assignment.path[0] ?? "") ?? ""}`;
    if (assignment.path.length === 1 && typeof assignment.value === "string" && assignment.value.replace(/\/+$/, "") === expected) continue;
    problems.push(
      diagnostic("playlabs-postgres-data", { variable: name, expected }, { origin: assignment.origin, variable: name }),
    );
  }
  if (problems.length > 0) throw new PlcError(problems);
}

/**
 * playlabs' `htaccess: true`: the inventory's `users` whose `roles` hold `<prefix>-<instance>`, or whose
 * `roles.superuser` lists it, and that have a `passwords/<name>` file (roles/nginx_htpasswd).
 */
export function htaccessUsers(
  given: ResolvedValue,
  written: WrittenSpec,
  name: string,
): { user: string; password: string }[] {
  // The inventory's `users` as Ansible computes them for the host (load evaluated them).
  const users = written.inventory?.variables?.get("users")?.assignments.find((assignment) => assignment.path.length === 1)?.value;
  const result: { user: string; password: string }[] = [];
  const problems: Diagnostic[] = [];
  for (const user of Array.isArray(users) ? (users as unknown[]) : []) {
    if (typeof user !== "object" || user === null) continue;
    const record = user as Record<string, unknown>;
    const userName = record["name"];
    if (typeof userName !== "string" || !hasRole(record["roles"], name)) continue;
    const file: PasswordFile | undefined = written.passwords.get(userName);
    if (file === undefined) continue;
    if (file.value === undefined) {
      problems.push(
        diagnostic("htaccess-password", { user: userName, problem: file.problem ?? "unreadable" }, { origin: file.origin, variable: "htaccess" }),
      );
      continue;
    }
    if (file.value !== "") result.push({ user: userName, password: file.value });
  }
  if (problems.length > 0) throw new PlcError(problems);
  if (result.length === 0) {
    throw new PlcError([
      diagnostic("htaccess-no-user", { role: name }, { origin: given.origin, variable: "htaccess" }),
    ]);
  }
  return result;
}

/** playlabs: `htaccess_service in item.roles or htaccess_service in item.roles.superuser`. */
function hasRole(roles: unknown, name: string): boolean {
  if (Array.isArray(roles)) return roles.includes(name);
  if (typeof roles !== "object" || roles === null) return false;
  const record = roles as Record<string, unknown>;
  const superuser = record["superuser"];
  return name in record || (Array.isArray(superuser) && superuser.includes(name));
}

/** `htaccess: true`, `htaccess=true` and the like; false turns it off. */
export function htaccessSwitch(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|yes|on|false|no|off)$/i.test(value)) return /^(true|yes|on)$/i.test(value);
  return undefined;
}
