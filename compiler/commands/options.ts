// The command line's shared pieces: option sets, argv to load options, pack settings, and the type of
// cli.ts's error handler. Below every command, so commands import this and never each other or cli.ts.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { LoadOptions } from "../load/index.js";
import type { Word } from "../load/argv.js";
import type { RewrittenArgv } from "./playlabs-argv.js";
import type { PackOptions } from "../pack/index.js";
import { PACKAGE_ROOT } from "../paths.js";
import type { BundleFile } from "../types.js";

/** The options every command that reads a spec takes. */
export interface SpecOptions {
  /** `-i`, repeatable (a single string when a command declares it once). */
  inventory?: string[] | string;
  plugins?: string[];
  pluginsDir?: string[];
  vaultPasswordFile?: string[];
  vaultId?: string[];
  imageArchive?: string;
}

/**
 * cli.ts's one error handler, lent to every command: runs the action, prints its diagnostics and sets
 * the exit code. An action that resolves to a number sets the exit status (diff: 1 = differs).
 */
export type Run = (action: () => Promise<unknown>) => Promise<void>;

/** A command module's one export. */
export type Register = (program: Command, run: Run) => void;

export const VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;

/** Commander option parser for repeatable options. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Commander parser for a repeatable option with no default (absent stays undefined). */
export function collectOptional(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `-i a -i b` and `-i a,b` (when both are paths) as sources in order; `-i web1,web2,` stays a host list. */
export function inventorySources(given: string[] | string | undefined): string[] {
  const list = given === undefined ? [] : typeof given === "string" ? [given] : given;
  return list.flatMap((source) => {
    if (!source.includes(",") || existsSync(source)) return [source];
    const parts = source.split(",").filter((part) => part !== "");
    return parts.length > 0 && parts.every((part) => existsSync(part)) ? parts : [source];
  });
}

/** Options every command that reads a spec takes. */
export function withSpecOptions(command: Command): Command {
  return command
    .argument("[vars...]", "name=value, env.KEY=value, '{\"json\":\"object\"}', a bare image, @host")
    .option("-i, --inventory <source>", "inventory: a directory, a file (YAML or INI) or web1,web2, (repeatable, merged in order; default: playlabs' inventory.y(a)ml in the working directory)", collectOptional)
    .option("-p, --plugins <list>", "plugins in order, comma-separated (repeatable)", collect, [])
    .option("--plugins-dir <dir>", "extra plugins directory, searched before the built-in ones (repeatable)", collect, [])
    .option("--vault-password-file <file>", "Ansible Vault password file (default $ANSIBLE_VAULT_PASSWORD_FILE)", collect, [])
    .option("--vault-id <label@file>", "Ansible Vault id and password file (repeatable)", collect, [])
    .option("--image-archive <file>", "a `docker save` archive: its config is read, and it travels in the bundle");
}

/** Positional words and -p values with their index on the command line (argv[0] is the subcommand). */
function locateWords(raw: readonly string[], operands: readonly string[]): { words: Word[]; plugins: Word[] } {
  const words: Word[] = [];
  let cursor = 1;
  for (const operand of operands) {
    const index = raw.indexOf(operand, cursor);
    words.push({ text: operand, index: index < 0 ? cursor : index });
    if (index >= 0) cursor = index + 1;
  }
  const plugins: Word[] = [];
  raw.forEach((token, index) => {
    if ((token === "-p" || token === "--plugins") && raw[index + 1] !== undefined) {
      plugins.push({ text: raw[index + 1] ?? "", index: index + 1 });
    } else if (token.startsWith("--plugins=")) {
      plugins.push({ text: token.slice("--plugins=".length), index });
    } else if (/^-p[^-]/.test(token)) {
      plugins.push({ text: token.slice(2), index });
    }
  });
  return { words, plugins };
}

/** The command line commander parses (playlabs' forms rewritten), and where each word was typed. */
let typedArgv: RewrittenArgv = { argv: process.argv.slice(2), typedIndex: [] };

export function setTypedArgv(value: RewrittenArgv): void {
  typedArgv = value;
}

/** The command line and environment, as what load reads. */
export function loadOptions(operands: string[], options: SpecOptions): LoadOptions {
  const located = locateWords(typedArgv.argv, operands);
  // Indices as the user typed them, before playlabs' forms were rewritten (-e, deploy, --limit).
  const typed = (word: Word): Word => ({ ...word, index: typedArgv.typedIndex[word.index] ?? word.index });
  const words = located.words.map(typed);
  const plugins = located.plugins.map(typed);
  const vaultFiles = [...(options.vaultPasswordFile ?? []), ...(options.vaultId ?? [])];
  return {
    words,
    plugins,
    inventoryDir: undefined,
    inventories: inventorySources(options.inventory),
    discoverInventory: true,
    environment: process.env,
    vaultPasswordFiles: vaultFiles,
    pluginsDirs: (options.pluginsDir ?? []).map((dir) => resolve(dir)),
    imageArchive: options.imageArchive === undefined ? undefined : resolve(options.imageArchive),
    inspectLocalDocker: true,
    cwd: process.cwd(),
  };
}

/**
 * Runs a command with `docker image inspect` of the image its command line names started first: the
 * docker CLI's start-up then overlaps the import (module evaluation) of the compiler instead of following load.
 * `loaded()` is the load options with what docker said; a command ending early stops the inspection.
 */
export async function withLocalImage(load: LoadOptions, work: (loaded: () => Promise<LoadOptions>) => Promise<void>): Promise<void> {
  const { argvImage, startLocalImageInspect } = await import("../load/local-image.js");
  const image = load.inspectLocalDocker === true && load.imageArchive === undefined ? argvImage(load.words) : undefined;
  const inspect = image === undefined ? undefined : startLocalImageInspect(image);
  try {
    await work(async () => (inspect === undefined ? load : { ...load, localImage: await inspect.result }));
  } finally {
    inspect?.cancel();
  }
}

/** Pack settings from the environment: plc's version and SOURCE_DATE_EPOCH. */
export function packOptions(extraFiles: BundleFile[] = []): PackOptions {
  const epoch = process.env["SOURCE_DATE_EPOCH"];
  const mtime = epoch !== undefined && /^[0-9]+$/.test(epoch) ? Number(epoch) : 0;
  return { plcVersion: VERSION, mtime, extraFiles };
}
