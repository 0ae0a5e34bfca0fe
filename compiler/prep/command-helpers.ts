// What plc init user@host, plc install and plc build --prep share: options, targets, and running a bundle.
import { fail, PlcError, type Diagnostic } from "../diagnostics.js";
import { parseTarget } from "../load/argv.js";
import { readGroupTargets } from "../load/hosts.js";
import { readInventory } from "../load/inventory.js";
import type { Destination } from "../ship/ssh.js";
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

export function prepOptions(roles: Role[], options: PrepCommandOptions, host: string | undefined, port: number | undefined): PrepOptions {
  const epoch = process.env["SOURCE_DATE_EPOCH"];
  let sshPort = port ?? 22;
  if (options.sshPort !== undefined) {
    sshPort = Number(options.sshPort);
    if (!Number.isInteger(sshPort) || sshPort < 1 || sshPort > 65535) fail("invalid-ssh-port", { value: options.sshPort }, { variable: "--ssh-port" });
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
  const known = inventoryDir === undefined ? [] : readGroupTargets(readInventory([inventoryDir], [], process.cwd()), "all");
  return operands.map(({ text, index }) => {
    const origin = { kind: "argv" as const, index, text };
    const bare = text.startsWith("@") ? text.slice(1) : text;
    const fromInventory = known.find((entry) => entry.label === bare);
    if (text.startsWith("@") && fromInventory !== undefined) return fromInventory;
    const target = text.includes("@") ? parseTarget(bare, origin) : undefined;
    if (target === undefined) fail("invalid-host", { text }, { origin });
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
