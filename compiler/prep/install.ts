// plc install and plc init user@host: build the prep bundle for each host and run it over ssh.
import { fail } from "../diagnostics.js";
import type { SshSettings } from "../ship/ssh.js";
import { locate, prepOptions, readDestinations, throwIf, type PrepCommandOptions } from "./command-helpers.js";
import { compilePrep } from "./compile.js";
import { runPrep } from "./remote.js";
import { parseRoles } from "./roles.js";

/** `plc install ROLES @host…`: hosts one after the other, each with its own host_vars. */
export async function installRoles(rolesText: string, hosts: readonly string[], options: PrepCommandOptions & { check?: boolean }, settings: SshSettings): Promise<void> {
  const [rolesWord, ...hostWords] = locate([rolesText, ...hosts]);
  const roles = parseRoles(rolesText, { kind: "argv", index: rolesWord?.index ?? 1, text: rolesText });
  if (roles.includes("init")) fail("install-init-role", {}, { variable: "ROLES" });
  const destinations = readDestinations(hostWords, options.inventory);
  // Every bundle is built before the first host is touched: bad input changes no host.
  const plans = destinations.map((destination) => ({ destination, compiled: compilePrep(prepOptions(roles, options, destination.label, destination.target.port)) }));
  const problems = [];
  for (const { destination, compiled } of plans) {
    problems.push(await runPrep(destination, settings, compiled.packed.tgz, options.check === true ? ["--check"] : []));
  }
  throwIf(problems);
}

/**
 * `plc init user@host`: the login user with the caller's key and passwordless sudo (first connection,
 * as the user given), then a second connection as that user with the key alone, through sudo -n: only
 * when it works does password login go off. A failed second login leaves password login on.
 */
export async function initHost(targetText: string, options: PrepCommandOptions & { check?: boolean }, settings: SshSettings): Promise<void> {
  const [destination] = readDestinations(locate([targetText]), options.inventory);
  if (destination === undefined) return;
  const compiled = compilePrep(prepOptions(["init"], options, destination.label, destination.target.port));
  const first = await runPrep(destination, settings, compiled.packed.tgz, options.check === true ? ["--check", "--only", "init"] : ["--only", "init"]);
  throwIf([first]);
  if (options.check === true) return;
  const keyOnly: SshSettings = {
    ...settings,
    isBatch: true,
    options: [
      ...settings.options,
      "PasswordAuthentication=no",
      "KbdInteractiveAuthentication=no",
      ...(compiled.identityFile === undefined ? [] : [`IdentityFile=${compiled.identityFile}`]),
    ],
  };
  const second = await runPrep({ label: destination.label, target: { ...destination.target, user: compiled.user } }, keyOnly, compiled.packed.tgz, ["--only", "lock"]);
  if (second !== undefined) {
    fail("prep-key-login", { host: destination.label, user: compiled.user ?? "" });
  }
}
