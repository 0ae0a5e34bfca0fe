// The host preparation roles, in the order they run, and the Debian packages each one needs.
import { fail, nearest } from "../diagnostics.js";
import type { Origin } from "../types.js";

/** playlabs' role names, plus `init` (first contact) and `deploy` (the restricted deploy user). */
export const ROLES = ["init", "ssh", "deploy", "docker", "firewall", "nginx"] as const;
export type Role = (typeof ROLES)[number];

/** What each role installs with apt: only the missing ones are installed on the host. */
export const ROLE_PACKAGES: Record<Role, readonly string[]> = {
  init: ["sudo", "openssh-server"],
  ssh: ["sudo", "openssh-server"],
  // ssh-keygen -Y verify and the installer's own tools.
  deploy: ["sudo", "openssh-client"],
  docker: ["docker.io"],
  // nftables, not ufw: its own table, never `flush ruleset` (which would wipe docker's rules), and no python.
  firewall: ["nftables"],
  nginx: ["nginx", "restic", "lftp", "logrotate", "curl", "uacme"],
};

/** `ssh,docker,firewall` as roles in plc's order; an unknown name is bad input with the nearest one suggested. */
export function parseRoles(text: string, origin: Origin): Role[] {
  const names = text.split(",").map((name) => name.trim()).filter((name) => name !== "");
  if (names.length === 0) fail("no-role", { roles: ROLES.join(",") }, { origin });
  const known = new Set<string>(ROLES);
  for (const name of names) {
    if (!known.has(name)) {
      const suggestion = nearest(name, ROLES);
      fail("unknown-role", { name, suggestion, roles: ROLES.join(", ") }, { origin });
    }
  }
  return ROLES.filter((role) => names.includes(role));
}

/** Every package the roles need, sorted, without repeats. */
export function packagesOf(roles: readonly Role[]): string[] {
  return [...new Set(roles.flatMap((role) => ROLE_PACKAGES[role]))].sort();
}
