// `plc ship`: options parsed here, then one ship per host (transport.ts), several at once (runner.ts).
import { existsSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { compileBundle, type Compiled } from "../index.js";
import { diagnostic, fail, PlcError } from "../diagnostics.js";
import { parseArgv, parseTarget, type Word } from "../load/argv.js";
import { readGroupTargets } from "../load/hosts.js";
import { loadSpec, type LoadOptions } from "../load/index.js";
import type { PackOptions } from "../pack/index.js";
import type { BundleFile } from "../types.js";
import { verifyBundleFile } from "../verify.js";
import { receiverScript } from "./receiver.js";
import { isNotReached, JUMP_HOST_CONNECTIONS, parseBatch, planBatches, rollOut, type RolloutResult } from "./rollout.js";
import { formatSummary, shipAll, type ShipPlan } from "./runner.js";
import { readShipment, shipmentOfPacked, type Shipment } from "./shipment.js";
import {
  describeTarget,
  formatBytes,
  formatSeconds,
  formatSshCommand,
  streamSize,
  type Destination,
  type InstallMode,
  type ShipEvent,
  type SshSettings,
} from "./transport.js";
// Type only: erased at run time, so no import cycle with the entry point.
import { collect, type SpecOptions } from "../options.js";

interface ShipOptions extends SpecOptions, SshOptions {
  parallel: string;
  batch?: string;
  canary: boolean;
  maxFailures: string;
  dryRun?: boolean;
  secrets?: string;
  check?: boolean;
}

/** What cli.ts lends: its option set, its argv mapping, its pack settings, and its one error handler. */
export interface ShipHelpers {
  withSpecOptions(command: Command): Command;
  loadOptions(operands: string[], options: SpecOptions): LoadOptions;
  packOptions(extraFiles?: BundleFile[]): PackOptions;
  secretsText(compiled: Compiled): string;
  /** cli.ts's `run`: prints diagnostics and sets the exit code. */
  runAsync(action: () => Promise<number | undefined>): Promise<void>;
}

export function registerShipCommand(program: Command, helpers: ShipHelpers): void {
  withSshOptions(
    helpers
      .withSpecOptions(program.command("ship"))
      .description("deploy to hosts, one ssh connection each: BUNDLE @host…, or @host vars… to build first, or -i DIR for the group's hosts"),
  )
    .option("--parallel <n>", "hosts shipped to at once (without --batch)", "1")
    .option("--batch <n|n%>", "roll out batch after batch of this many hosts (or percent of them), the first host alone before them")
    .option("--no-canary", "with --batch: no first host alone")
    .option("--max-failures <k>", "with --batch: failed hosts tolerated; one more stops the rollout after its batch", "0")
    .option("--secrets <file>", "secrets file to send (default: the *.secrets.env beside BUNDLE)")
    .option("--check", "run install.sh --check on the hosts: prerequisites, checksums, secrets; change nothing")
    .option("--dry-run", "print what would run on each host; connect to none")
    .addHelpText(
      "after",
      `
Examples:
  plc ship dist/ybs-hack-0123456789ab.tar.gz @staging
  plc ship dist/ybs-hack-0123456789ab.tar.gz deploy@10.0.0.5:2222 -J bastion
  plc ship @staging image=registry/app:sha prefix=ybs instance=hack
  plc ship -i inventory prefix=mrs instance=production --parallel 2
  plc ship -i inventory prefix=mrs instance=production --batch 25% --max-failures 1
A rollout opens at most ${String(JUMP_HOST_CONNECTIONS)} connections at once: sshd's MaxStartups default, which a jump host
applies to all of them. ssh's own ControlMaster settings, when your config has them, are used as they are.
Host keys are checked against known_hosts; a user that is not root needs sudo without a password.`,
    )
    .action((operands: string[], options: ShipOptions) => helpers.runAsync(async () => {
      await ship(operands, options, helpers);
      return undefined;
    }));
}

/** How the user reaches hosts, as ssh's own flags; every command that connects takes them. */
export interface SshOptions {
  sshConfig?: string;
  sshOption: string[];
  jump?: string;
}

/** -F, -o and -J, spelled as ssh spells them. */
export function withSshOptions(command: Command): Command {
  return command
    .option("-F, --ssh-config <file>", "ssh configuration file (as ssh -F)")
    .option("-o, --ssh-option <key=value>", "an ssh option (as ssh -o, repeatable)", collect, [])
    .option("-J, --jump <host>", "reach the hosts through this jump host (as ssh -J)");
}

/** Checks -F and -o before anything connects (bad input, exit 2) and turns them into transport settings. */
export function readSshSettings(options: SshOptions, isBatch: boolean): SshSettings {
  for (const option of options.sshOption) {
    if (!/^[A-Za-z][A-Za-z0-9]*[= ]\S/.test(option)) {
      fail("invalid-argument", `-o ${option} is not an ssh option`, { variable: "--ssh-option", hint: "write KEY=VALUE, as for ssh -o (ConnectTimeout=10)" });
    }
  }
  if (options.jump !== undefined && !/^(?:[^@\s]+@)?(?:[^:@\s,]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/.test(options.jump)) {
    fail("invalid-argument", `-J ${options.jump} is not a jump host`, {
      variable: "--jump",
      hint: "write [user@]host[:port]; for a chain of jumps, put ProxyJump in an ssh config file given with -F",
    });
  }
  if (options.sshConfig !== undefined && !existsSync(options.sshConfig)) {
    fail("invalid-argument", `ssh config file ${options.sshConfig} does not exist`, { variable: "--ssh-config" });
  }
  return {
    configFile: options.sshConfig === undefined ? undefined : resolve(options.sshConfig),
    options: options.sshOption,
    jump: options.jump,
    isBatch,
  };
}

async function ship(operands: string[], options: ShipOptions, helpers: ShipHelpers): Promise<void> {
  const parallel = Number(options.parallel);
  if (!Number.isInteger(parallel) || parallel < 1) {
    fail("invalid-argument", `--parallel ${options.parallel} is not a number of hosts`, { variable: "--parallel", hint: "give a whole number, 1 or more" });
  }
  const rollout = readRollout(options);
  // Checked before planning, so a bad -o or -F costs no build.
  readSshSettings(options, true);
  const plans = await planShips(operands, options, helpers);
  const mode: InstallMode = options.check === true ? "--check" : "install";
  // Prompts need a terminal, and several at once cannot share one.
  const settings = readSshSettings(options, !process.stdin.isTTY || (plans.length > 1 && (parallel > 1 || rollout !== undefined)));

  if (options.dryRun === true) {
    printDryRun(plans, settings, mode);
    return;
  }
  const isSeveral = plans.length > 1;
  const reporter = makeReporter(isSeveral, process.stderr.isTTY && !isSeveral);
  const results: RolloutResult[] =
    rollout === undefined
      ? await shipAll(plans, settings, mode, parallel, reporter)
      : await rollOut(
          plans,
          settings,
          mode,
          { batches: planBatches(plans.length, rollout.batch, rollout.canary), maxFailures: rollout.maxFailures, connections: JUMP_HOST_CONNECTIONS },
          reporter,
        );
  reporter.finish();
  if (isSeveral) process.stdout.write(formatSummary(results));
  const failed = results.flatMap((result) => (isNotReached(result) || result.isOk ? [] : [result]));
  const notReached = results.filter(isNotReached);
  if (failed.length > 0 || notReached.length > 0) {
    const diagnostics = failed.flatMap((result) => (result.diagnostic === undefined ? [] : [result.diagnostic]));
    if (isSeveral) {
      diagnostics.push(diagnostic("ship-failed", `${failed.length} of ${results.length} hosts failed: ${failed.map((result) => result.label).join(", ")}`));
    }
    if (notReached.length > 0) {
      diagnostics.push(
        diagnostic("ship-failed", `the rollout stopped: ${notReached.length} hosts not reached: ${notReached.map((result) => result.label).join(", ")}`, {
          hint: "the hosts that failed brought back what ran before; fix the release, then ship again (or raise --max-failures)",
        }),
      );
    }
    throw new PlcError(diagnostics);
  }
  for (const [index, result] of results.entries()) {
    const shipment = plans[index]?.shipment;
    if (shipment === undefined || isNotReached(result)) continue;
    const what = mode === "install" ? `deployed ${shipment.root} release ${shipment.id.slice(0, 12)}` : `checked ${shipment.root} release ${shipment.id.slice(0, 12)}`;
    process.stderr.write(`plc ship: ${what} on ${result.label} in ${formatSeconds(result.durationMs)}\n`);
  }
}

/** --batch, --no-canary and --max-failures: a rollout, or undefined for the plain --parallel ship. */
function readRollout(options: ShipOptions): { batch: NonNullable<ReturnType<typeof parseBatch>>; canary: boolean; maxFailures: number } | undefined {
  const maxFailures = Number(options.maxFailures);
  if (!/^[0-9]+$/.test(options.maxFailures) || !Number.isSafeInteger(maxFailures)) {
    fail("invalid-argument", `--max-failures ${options.maxFailures} is not a number of hosts`, { variable: "--max-failures", hint: "give a whole number, 0 or more" });
  }
  if (options.batch === undefined) {
    if (options.maxFailures !== "0" || !options.canary) {
      fail("invalid-argument", "--max-failures and --no-canary belong to a rollout, which --batch starts", { variable: "--batch", hint: "add --batch N (or N%)" });
    }
    return undefined;
  }
  const batch = parseBatch(options.batch);
  if (batch === undefined) {
    fail("invalid-argument", `--batch ${options.batch} is neither a number of hosts nor a percentage`, { variable: "--batch", hint: "write --batch 5 or --batch 25%" });
  }
  return { batch, canary: options.canary, maxFailures };
}

/** Which bundle goes to which host: a given BUNDLE, or one built now (per host when the inventory has host_vars). */
async function planShips(operands: string[], options: ShipOptions, helpers: ShipHelpers): Promise<ShipPlan[]> {
  const bundlePath = operands[0];
  // A BUNDLE that is not there is a typo, never a bare image to build and ship.
  if (bundlePath !== undefined && /\.(tar\.gz|tgz)$/.test(bundlePath) && !(existsSync(bundlePath) && statSync(bundlePath).isFile())) {
    fail("invalid-argument", `bundle ${bundlePath} does not exist`, {
      origin: { kind: "argv", index: 1, text: bundlePath },
      hint: "give the path plc build printed (dist/<prefix>-<instance>-<id>.tar.gz), or variables to build one now",
    });
  }
  if (bundlePath !== undefined && /\.(tar\.gz|tgz)$/.test(bundlePath)) {
    const rest = operands.slice(1);
    const destinations = rest.map((text, position) => {
      const origin = { kind: "argv" as const, index: position + 2, text };
      const target = parseTarget(text.replace(/^@/, ""), origin);
      if (target === undefined || (!text.startsWith("@") && !text.includes("@"))) {
        return fail("invalid-argument", `'${text}' is not a ship target`, {
          origin,
          hint: "after a BUNDLE come only @host, user@host or user@host:port; to build with variables, drop BUNDLE",
        });
      }
      return { label: describeTarget(target), target };
    });
    // A bundle is checked here, before any host sees a byte of it: ship sends only what plc verify passes.
    const { problems } = verifyBundleFile(resolve(bundlePath), process.cwd());
    if (problems.length > 0) {
      throw new PlcError([...problems, diagnostic("bundle-invalid", `${bundlePath} fails plc verify; nothing was sent`, { hint: "rebuild it with plc build; never edit a bundle" })]);
    }
    const shipment = await readShipment(resolve(bundlePath), options.secrets === undefined ? undefined : resolve(options.secrets), process.cwd());
    if (options.inventory !== undefined && destinations.length === 0) {
      const { inventory } = loadSpec(helpers.loadOptions([], options));
      if (inventory !== undefined) destinations.push(...readGroupTargets(inventory, shipment.root));
    }
    if (destinations.length === 0) noHost(shipment.root);
    return destinations.map((destination) => ({ destination, shipment }));
  }

  if (options.secrets !== undefined) {
    fail("invalid-argument", "--secrets goes with a built BUNDLE", { variable: "--secrets", hint: "when plc builds, it sends the secrets it built" });
  }
  const load = helpers.loadOptions(operands, options);
  const build = (words: Word[]): { compiled: Compiled; shipment: Shipment } => {
    const extraFiles: BundleFile[] = [];
    if (options.imageArchive !== undefined) extraFiles.push({ path: "image.tar", mode: 0o644, content: readFileSync(resolve(options.imageArchive)) });
    const compiled = compileBundle({ ...load, words }, helpers.packOptions(extraFiles));
    return { compiled, shipment: shipmentOfPacked(compiled.packed, compiled.bundle.root, helpers.secretsText(compiled)) };
  };
  const first = build(load.words);
  const { compiled } = first;
  for (const note of compiled.spec.notes) process.stderr.write(`note: ${note}\n`);
  const inventory = compiled.written.inventory;
  const destinations: Destination[] = compiled.written.targets.map((target) => ({ label: describeTarget(target), target }));
  if (destinations.length === 0 && inventory !== undefined) destinations.push(...readGroupTargets(inventory, compiled.spec.name));
  if (destinations.length === 0) noHost(compiled.spec.name);

  // host_vars/<host> takes part in the build, so each inventory host gets the bundle built for it.
  const plain = load.words.filter((word) => parseArgv([word]).targets.length === 0);
  const bySha = new Map<string, Shipment>([[first.shipment.sha256, first.shipment]]);
  return destinations.map((destination) => {
    const host = [destination.label, destination.target.host].find((name) => inventory?.hosts.has(name) === true);
    if (host === undefined) return { destination, shipment: first.shipment };
    const { shipment } = build([...plain, { text: `@${host}`, index: 0 }]);
    const shared = bySha.get(shipment.sha256) ?? shipment;
    bySha.set(shipment.sha256, shared);
    return { destination, shipment: shared };
  });
}

function noHost(group: string): never {
  return fail("invalid-argument", "no host to ship to", {
    hint: `name hosts (@host, user@host:port) or give -i DIR whose inventory lists hosts in group ${group}`,
  });
}

function printDryRun(plans: readonly ShipPlan[], settings: SshSettings, mode: InstallMode): void {
  const out: string[] = ["plc ship --dry-run: nothing is sent; each host would get one ssh connection:"];
  for (const { destination, shipment } of plans) {
    out.push(`${destination.label}:`);
    out.push(`  ${formatSshCommand(destination, settings, shipment, mode)}`);
    out.push(`  stream (${formatBytes(streamSize(shipment))}): bundle.tar.gz ${shipment.description}, ${formatBytes(shipment.size)}, sha256 ${shipment.sha256}`);
    if (shipment.secrets !== undefined) out.push(`    + secrets.env (${shipment.secretKeys.join(", ") || "keys not listed"}; values not shown)`);
    else if (shipment.secretKeys.length > 0) out.push(`    no secrets file: the host's current secrets are used (${shipment.secretKeys.join(", ")})`);
    out.push(`  then on the host: verify the sha256, unpack, install.sh${mode === "install" ? "" : ` ${mode}`} (through sudo -n unless root), remove the temporary files`);
  }
  out.push("PLC_RECEIVER, the script the host runs with the stream on stdin:");
  out.push(...receiverScript().trimEnd().split("\n").map((line) => `  ${line}`));
  process.stdout.write(out.join("\n") + "\n");
}

interface Reporter {
  (event: ShipEvent): void;
  finish(): void;
}

/** Phases as lines; remote output as it comes, prefixed with the host when several; a live byte count on a TTY. */
function makeReporter(isSeveral: boolean, isLive: boolean): Reporter {
  let isProgressShown = false;
  const clear = (): void => {
    if (isProgressShown) process.stderr.write("\r\u001b[K");
    isProgressShown = false;
  };
  const prefix = (label: string): string => (isSeveral ? `${label} | ` : "");
  const report = (event: ShipEvent): void => {
    switch (event.kind) {
      case "output":
        clear();
        process.stdout.write(`${prefix(event.label)}${event.line}\n`);
        return;
      case "progress": {
        if (!isLive) return;
        const rate = event.elapsedMs > 0 ? (event.sent / event.elapsedMs) * 1000 : 0;
        process.stderr.write(`\r\u001b[K${event.label}: sending ${formatBytes(event.sent)} / ${formatBytes(event.total)}  ${formatBytes(rate)}/s`);
        isProgressShown = true;
        return;
      }
      case "phase":
        if (isLive && event.phase === "sending") return;
        clear();
        process.stderr.write(`plc ship: ${event.label}: ${event.phase}${event.detail === "" ? "" : ` ${event.detail}`}\n`);
        return;
    }
  };
  return Object.assign(report, { finish: clear });
}
