// `plc ship`: which bundle goes to which host (a given BUNDLE, or one built now), then one ship per host
// (transport.ts), several at once (runner.ts). The command line is parsed in commands/ship.ts.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { compileBundle, secretsText, type Compiled } from "../index.js";
import { diagnostic, fail, PlcError } from "../diagnostics.js";
import { parseArgv, type Word } from "../load/argv.js";
import { namedTarget, readGroupTargets } from "../load/hosts.js";
import { loadSpec, type LoadOptions } from "../load/index.js";
import type { PackOptions } from "../pack/index.js";
import { verifyBundleFile } from "../verify.js";
import { receiverScript } from "./receiver.js";
import { prepareCredentials } from "./credentials.js";
import { JUMP_HOST_CONNECTIONS, parseBatch, planBatches, rollOut } from "./rollout.js";
import { formatSummary, isNotReached, shipAll, type RolloutResult, type ShipPlan } from "./runner.js";
import { readShipment, shipmentOfPacked, type Shipment } from "./shipment.js";
import { describeTarget, parseDestinations, readSshSettings, type Destination, type SshOptions, type SshSettings } from "./ssh.js";
import { formatBytes, formatSeconds, formatSshCommand, streamSize, type InstallMode, type ShipEvent, type ShipResult } from "./transport.js";
import { describeNotifyTargets, notifyShip, type ShipNotifications } from "../notify/ship.js";

export interface ShipOptions extends SshOptions {
  inventory?: string;
  parallel: string;
  acceptNewHostKeys?: boolean;
  batch?: string;
  canary: boolean;
  maxFailures: string;
  dryRun?: boolean;
  secrets?: string;
  check?: boolean;
  fullImage?: boolean;
}

/** Ships `operands` (BUNDLE @host…, or @host vars…); `load` is the command line as load reads it. */
export async function ship(operands: string[], options: ShipOptions, load: LoadOptions, pack: PackOptions): Promise<void> {
  const parallel = Number(options.parallel);
  if (!Number.isInteger(parallel) || parallel < 1) {
    fail("invalid-argument", `--parallel ${options.parallel} is not a number of hosts`, { variable: "--parallel", hint: "give a whole number, 1 or more" });
  }
  const rollout = readRollout(options);
  // Checked before planning, so a bad -o or -F costs no build.
  readSshSettings(options, true);
  const planned = await planShips(operands, options, load, pack);
  // --full-image: the tarball as built, image.tar in it, without asking the host for its layers.
  const plans = options.fullImage === true ? planned.map((plan) => ({ ...plan, shipment: { ...plan.shipment, imageParts: undefined } })) : planned;
  const mode: InstallMode = options.check === true ? "--check" : "install";
  // Prompts need a terminal, and several at once cannot share one.
  const sshSettings = readSshSettings(options, !process.stdin.isTTY || (plans.length > 1 && (parallel > 1 || rollout !== undefined)));
  // The ssh key and host keys a CI job gives (keys/<user>, $SSH_PRIVATE_KEY, $SSH_KNOWN_HOSTS), as 0600 files for this ship.
  const users = new Set(plans.map((plan) => plan.destination.target.user ?? options.user));
  const credentials = prepareCredentials({
    inventoryDir: load.inventories?.find((source) => existsSync(source) && statSync(source).isDirectory()),
    user: users.size === 1 ? [...users][0] : undefined,
    vaultPasswordFiles: load.vaultPasswordFiles,
    acceptNewHostKeys: options.acceptNewHostKeys === true,
    isDryRun: options.dryRun === true,
    env: process.env,
    cwd: process.cwd(),
  });
  try {
    for (const note of credentials.notes) process.stderr.write(`note: ${note}\n`);
    await shipPlans(plans, { ...sshSettings, options: [...sshSettings.options, ...credentials.options] }, mode, parallel, options, rollout);
  } finally {
    credentials.cleanup();
  }
}

async function shipPlans(
  plans: ShipPlan[],
  settings: SshSettings,
  mode: InstallMode,
  parallel: number,
  options: ShipOptions,
  rollout: ReturnType<typeof readRollout>,
): Promise<void> {
  if (options.dryRun === true) {
    printDryRun(plans, settings, mode);
    return;
  }
  const isSeveral = plans.length > 1;
  const reporter = makeReporter(isSeveral, process.stderr.isTTY && !isSeveral);
  // Deploys are announced; a --check changes nothing and says nothing.
  const notifications = mode === "install" ? notifyDeploy(plans) : undefined;
  const onEvent = (event: ShipEvent): void => {
    reporter(event);
    notifications?.observe(event);
  };
  const onResult = (result: ShipResult): void => notifications?.finish(result);
  const results: RolloutResult[] =
    rollout === undefined
      ? await shipAll(plans, settings, mode, parallel, onEvent, onResult)
      : await rollOut(
          plans,
          settings,
          mode,
          { batches: planBatches(plans.length, rollout.batch, rollout.canary), maxFailures: rollout.maxFailures, connections: JUMP_HOST_CONNECTIONS },
          onEvent,
          onResult,
        );
  await notifications?.flush();
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
    const site = result.httpsUrl === undefined ? "" : `, serving ${result.httpsUrl}`;
    process.stderr.write(`plc ship: ${what} on ${result.label} in ${formatSeconds(result.durationMs)}${site}\n`);
  }
}

/** The deploy's events, when a bundle names targets. */
function notifyDeploy(plans: readonly ShipPlan[]): ShipNotifications | undefined {
  return notifyShip(plans.map(({ destination, shipment }) => ({ label: destination.label, release: shipment.id.slice(0, 12), notify: shipment.notify })));
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
async function planShips(operands: string[], options: ShipOptions, load: LoadOptions, pack: PackOptions): Promise<ShipPlan[]> {
  const bundlePath = operands[0];
  // A BUNDLE that is not there is a typo, never a bare image to build and ship.
  if (bundlePath !== undefined && /\.(tar\.gz|tgz)$/.test(bundlePath) && !(existsSync(bundlePath) && statSync(bundlePath).isFile())) {
    fail("invalid-argument", `bundle ${bundlePath} does not exist`, {
      origin: { kind: "argv", index: 1, text: bundlePath },
      hint: "give the path plc build printed (dist/<prefix>-<instance>-<id>.tar.gz), or variables to build one now",
    });
  }
  if (bundlePath !== undefined && /\.(tar\.gz|tgz)$/.test(bundlePath)) {
    const destinations = parseDestinations(operands.slice(1), 2, "ship target", "after a BUNDLE come only @host, user@host or user@host:port; to build with variables, drop BUNDLE");
    // A bundle is checked here, before any host sees a byte of it: ship sends only what plc verify passes.
    const { problems } = verifyBundleFile(resolve(bundlePath), process.cwd());
    if (problems.length > 0) {
      throw new PlcError([...problems, diagnostic("bundle-invalid", `${bundlePath} fails plc verify; nothing was sent`, { hint: "rebuild it with plc build; never edit a bundle" })]);
    }
    const shipment = await readShipment(resolve(bundlePath), options.secrets === undefined ? undefined : resolve(options.secrets), process.cwd());
    if (options.inventory !== undefined && destinations.length === 0) {
      const { inventory } = loadSpec({ ...load, words: [] });
      if (inventory !== undefined) destinations.push(...readGroupTargets(inventory, shipment.root));
    }
    if (destinations.length === 0) noHost(shipment.root);
    return destinations.map((destination) => ({ destination, shipment }));
  }

  if (options.secrets !== undefined) {
    fail("invalid-argument", "--secrets goes with a built BUNDLE", { variable: "--secrets", hint: "when plc builds, it sends the secrets it built" });
  }
  const build = (words: Word[]): { compiled: Compiled; shipment: Shipment } => {
    // load reads --image-archive and render puts it in the bundle: exactly what plc build writes.
    const compiled = compileBundle({ ...load, words }, pack);
    return { compiled, shipment: shipmentOfPacked(compiled.packed, compiled.bundle.root, secretsText(compiled.bundle)) };
  };
  const first = build(load.words);
  const { compiled } = first;
  for (const note of compiled.spec.notes) process.stderr.write(`note: ${note}\n`);
  const inventory = compiled.written.inventory;
  // `@web1` naming an inventory host ships to its ansible_host/user/port.
  const destinations: Destination[] = compiled.written.targets.map((target) => (inventory?.hosts.has(target.host) === true ? namedTarget(inventory, target, compiled.spec.name) : { label: describeTarget(target), target }));
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
    if (shipment.imageParts === undefined) {
      out.push(`  stream (${formatBytes(streamSize(shipment))}): bundle.tar.gz ${shipment.description}, ${formatBytes(shipment.size)}, sha256 ${shipment.sha256}`);
    } else {
      const layers = shipment.imageParts.filter((part) => part.isLayer).length;
      out.push(`  the host first lists the image layers its docker has; then the stream: the image archive's files but those layers (of ${String(layers)}), bundle.tar.gz ${shipment.description} without image.tar (--full-image: all of it)`);
    }
    if (shipment.secrets !== undefined) out.push(`    + secrets.env (${shipment.secretKeys.join(", ") || "keys not listed"}; values not shown)`);
    else if (shipment.secretKeys.length > 0) out.push(`    no secrets file: the host's current secrets are used (${shipment.secretKeys.join(", ")})`);
    out.push(`  then on the host: verify the sha256, unpack, install.sh${mode === "install" ? "" : ` ${mode}`} (through sudo -n unless root), remove the temporary files`);
    const targets = describeNotifyTargets(shipment.notify);
    if (mode === "install" && targets !== "") out.push(`  events of the deploy sent from here to ${targets} (URLs and tokens not shown)`);
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
      case "event":
        // For notifications: install.sh's own lines already say what happens.
        return;
    }
  };
  return Object.assign(report, { finish: clear });
}
