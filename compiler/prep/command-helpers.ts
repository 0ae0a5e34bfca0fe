// What plc init user@host, plc install and plc build --prep share: options, targets, and running a bundle.
import type { Command } from "commander";
import { fail, PlcError, type Diagnostic } from "../diagnostics.js";
import { parseTarget } from "../load/argv.js";
import { readGroupTargets } from "../load/hosts.js";
import { readInventory } from "../load/inventory.js";
import { collect } from "../options.js";
import type { Destination } from "../ship/transport.js";
import type { PrepOptions } from "./compile.js";
import type { Role } from "./roles.js";

export interface PrepCommandOptions {
  inventory?: string;
  user?: string;
  key?: string;
  signer: string[];
  deployKey?: string;
  sshPort?: string;
  offline?: boolean;
  aptCache?: string;
}

/** The options that shape a prep bundle. */
export function withPrepOptions(command: Command, isBuild = false): Command {
  if (!isBuild) command.option("-i, --inventory <dir>", "inventory directory: users, users_remove, deploy_user, keys/<name>.pub");
  return command
    .option("-u, --user <name>", "init: the login user to create (default $USER)")
    .option("--key <file.pub>", "init: your public key (default ~/.ssh/id_ed25519.pub, id_ecdsa.pub, id_rsa.pub)")
    .option("--signer <file.pub>", "deploy: a public key allowed to sign bundles (plc sign --key …; repeatable)", collect, [])
    .option("--deploy-key <file.pub>", "deploy: the deploy user's key (default the inventory's keys/<deploy_user>.pub)")
    .option("--ssh-port <port>", "the ssh port the firewall keeps open (default the target's, else 22)");
}

export function prepOptions(roles: Role[], options: PrepCommandOptions, host: string | undefined, port: number | undefined): PrepOptions {
  const epoch = process.env["SOURCE_DATE_EPOCH"];
  let sshPort = port ?? 22;
  if (options.sshPort !== undefined) {
    sshPort = Number(options.sshPort);
    if (!Number.isInteger(sshPort) || sshPort < 1 || sshPort > 65535) fail("invalid-argument", `--ssh-port ${options.sshPort} is not a port`, { variable: "--ssh-port", hint: "1 to 65535" });
  }
  return {
    roles,
    inventory: options.inventory,
    host,
    user: options.user,
    key: options.key,
    signers: options.signer,
    deployKey: options.deployKey,
    sshPort,
    offline: options.offline === true,
    aptCache: options.aptCache,
    mtime: epoch !== undefined && /^[0-9]+$/.test(epoch) ? Number(epoch) : 0,
    cwd: process.cwd(),
  };
}

/** `@host`, `user@host[:port]` operands; `@name` of an inventory host reads its ansible_host/user/port. */
export function readDestinations(operands: readonly { text: string; index: number }[], inventoryDir: string | undefined): Destination[] {
  const known = inventoryDir === undefined ? [] : readGroupTargets(readInventory(inventoryDir, [], process.cwd()), "all");
  return operands.map(({ text, index }) => {
    const origin = { kind: "argv" as const, index, text };
    const bare = text.startsWith("@") ? text.slice(1) : text;
    const fromInventory = known.find((entry) => entry.label === bare);
    if (text.startsWith("@") && fromInventory !== undefined) return fromInventory;
    const target = text.includes("@") ? parseTarget(bare, origin) : undefined;
    if (target === undefined) fail("invalid-argument", `'${text}' is not a host`, { origin, hint: "write @host, user@host or user@host:port" });
    return { label: text.replace(/^@/, ""), target };
  });
}

/** argv index of each operand, for located diagnostics. */
export function locate(operands: readonly string[]): { text: string; index: number }[] {
  const raw = process.argv.slice(2);
  let cursor = 1;
  return operands.map((text) => {
    const index = raw.indexOf(text, cursor);
    if (index >= 0) cursor = index + 1;
    return { text, index: index < 0 ? cursor : index };
  });
}

export function throwIf(problems: readonly (Diagnostic | undefined)[]): void {
  const found = problems.filter((problem): problem is Diagnostic => problem !== undefined);
  if (found.length > 0) throw new PlcError(found);
}
