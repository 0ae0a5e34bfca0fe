// Phase 1, load: the only phase that reads files. Argv, inventory, vault, plugins, image config.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fail } from "../diagnostics.js";
import type { Assignment, Inventory, InventoryVariable, PasswordFile, PluginDefinition, Target, WrittenSpec } from "../types.js";
import { readProjectSchema } from "../schema.js";
import { parseArgv, type Word } from "./argv.js";
import { BARE_VARIABLES } from "./bare.js";
import { deployHosts } from "./hosts.js";
import { hostVariables, valueOf } from "./hostvars.js";
import { DISCOVERED_INVENTORIES, readInventory } from "./inventory.js";
import { TemplateEvaluator, type ScopeValue } from "./jinja.js";
import { readPasswords } from "./passwords.js";
import { readPlugins } from "./plugins.js";
import { readImageArchive } from "./image.js";
import { inspectLocalImage, type LocalImage } from "./local-image.js";
import { parseVaultPasswordFile, type VaultSecret } from "./vault.js";

export interface LoadOptions {
  words: Word[];
  /** `-p` values, with their argv index. */
  plugins: Word[];
  /** One `-i` source (a directory, a file or `web1,web2,`); `inventories` when there are several. */
  inventoryDir: string | undefined;
  /** Every `-i`, in order (repeated, or `a,b` naming existing paths): merged as Ansible merges them. */
  inventories?: string[] | undefined;
  /** Without -i, use the inventory playlabs finds in the working directory (the CLI does). */
  discoverInventory?: boolean;
  vaultPasswordFiles: string[];
  /** The environment: $ANSIBLE_VAULT_PASSWORD(_FILE), lookup('env', …). Tests pass their own; none by default. */
  environment?: Readonly<Record<string, string | undefined>>;
  pluginsDirs: string[];
  imageArchive: string | undefined;
  /** Ask a local docker for the image config when no archive is given (the CLI does; tests do not). */
  inspectLocalDocker?: boolean;
  /** What a local docker already said of the image the command line names (inspected while plc started). */
  localImage?: LocalImage;
  cwd: string;
}

/** Reads everything the build depends on into a WrittenSpec. */
export function loadSpec(options: LoadOptions): WrittenSpec {
  const parsed = parseArgv(options.words);
  // `-p a -p b` adds up, like `-p a,b`; the first -p locates them.
  const [first] = options.plugins;
  if (first !== undefined) {
    parsed.assignments.push({
      path: ["plugins"],
      value: options.plugins.map((word) => word.text).join(","),
      origin: { kind: "argv", index: first.index, text: first.text },
      isSecret: false,
    });
  }
  const environment = options.environment ?? {};
  const sources = inventorySources(options);
  const secrets = vaultSecrets(options, sources, environment);
  const inventory = sources.length === 0 ? undefined : readInventory(sources, secrets, options.cwd);
  const plugins = readPlugins(options.pluginsDirs, options.cwd);
  if (inventory !== undefined) prepareHost(inventory, parsed.assignments, parsed.targets, plugins, secrets, options.cwd, environment);
  const archive = options.imageArchive === undefined ? undefined : readImageArchive(options.imageArchive, options.cwd);
  // Left on disk, its size noted: pack reads it in chunks (an image may be gigabytes).
  const imageArchive = options.imageArchive === undefined ? undefined : { path: options.imageArchive, size: statSync(options.imageArchive).size };
  const passwords = inventory === undefined ? new Map<string, PasswordFile>() : readPasswords(inventory.dir, secrets, options.cwd);
  const written: WrittenSpec = { argv: parsed.assignments, targets: parsed.targets, inventory, imageEnv: archive?.env, imageArchive, imageTags: archive?.tags, imageParts: archive?.parts, imageNote: undefined, plugins, passwords };
  if (written.imageEnv !== undefined || options.inspectLocalDocker !== true) return written;
  // The image may come from the command line or the inventory, whichever layer named it.
  const image = imageOf(written, inventory === undefined ? [] : imageKeys(parsed.assignments));
  if (image === undefined) return written;
  const imageEnv = options.localImage?.image === image ? options.localImage.env : inspectLocalImage(image);
  const imageNote =
    imageEnv === undefined
      ? `the config of ${image} could not be read (no --image-archive, no local docker with it): ENV PLAYLABS_PLUGINS and the image's UWSGI_SPOOLER_* are not used`
      : undefined;
  return { ...written, imageEnv, imageNote };
}

/** The names an inventory may give the image under: bare `image` (which wins, as playlabs reads it), then `<prefix>_<instance>_image`. */
function imageKeys(argv: readonly Assignment[]): string[] {
  const extra = extraVariables(argv);
  const prefix = stringOf(extra.get("prefix")) ?? "project";
  const instance = stringOf(extra.get("instance")) ?? "staging";
  return ["image", `${prefix}_${instance}_image`, `${prefix}_${instance}_image`.replace(/-/g, "_")];
}

/** The image the spec names: the command line's, else the inventory's (resolve's precedence, read here without it). */
function imageOf(written: WrittenSpec, inventoryKeys: readonly string[]): string | undefined {
  const fromArgv = written.argv.filter((assignment) => assignment.path.length === 1 && assignment.path[0] === "image").at(-1)?.value;
  const fromInventory = inventoryKeys.map((key) => written.inventory?.variables?.get(key)?.assignments[0]?.value).find((value) => value !== undefined);
  const value = fromArgv ?? fromInventory;
  // Validate checks the reference; here it only must not read as an option of docker's.
  return typeof value === "string" && /^[A-Za-z0-9][^\s]*$/.test(value) ? value : undefined;
}

/** `-i` as given; without it (CLI only), the first of playlabs' inventory.yaml, inventory.yml, inventory/inventory.y*ml. */
function inventorySources(options: LoadOptions): string[] {
  if (options.inventories !== undefined && options.inventories.length > 0) return options.inventories;
  if (options.inventoryDir !== undefined) return [options.inventoryDir];
  if (options.discoverInventory !== true) return [];
  const found = DISCOVERED_INVENTORIES.map((name) => join(options.cwd, name)).find((path) => existsSync(path));
  return found === undefined ? [] : [found];
}

/**
 * The vault passwords: --vault-password-file and --vault-id as given; else $ANSIBLE_VAULT_PASSWORD_FILE;
 * else playlabs' conventions, $ANSIBLE_VAULT_PASSWORD and a `.vault` file in the inventory directory.
 */
function vaultSecrets(options: LoadOptions, sources: readonly string[], environment: Readonly<Record<string, string | undefined>>): VaultSecret[] {
  if (options.vaultPasswordFiles.length > 0) return options.vaultPasswordFiles.map(readVaultPassword);
  const file = environment["ANSIBLE_VAULT_PASSWORD_FILE"];
  if (file !== undefined && file !== "") return [readVaultPassword(file)];
  const secrets: VaultSecret[] = [];
  const password = environment["ANSIBLE_VAULT_PASSWORD"];
  if (password !== undefined && password !== "") secrets.push(parseVaultPasswordFile(password));
  for (const source of sources) {
    if (!existsSync(source)) continue;
    const vault = join(statSync(source).isDirectory() ? source : dirname(source), ".vault");
    if (existsSync(vault)) secrets.push(readVaultPassword(vault));
  }
  return secrets;
}

const CONNECTION_VARIABLES = ["ansible_host", "ansible_user", "ansible_port", "ansible_ssh_host", "ansible_ssh_user", "ansible_ssh_port"];

/**
 * Picks the host the build is for and evaluates the variables plc reads for it: `<prefix>_<instance>_*`,
 * the bare names plc knows, the plugins' globals and the connection variables. Others stay unread,
 * as Ansible evaluates lazily: a broken template nobody reads breaks nothing.
 */
function prepareHost(
  inventory: Inventory,
  argv: readonly Assignment[],
  targets: readonly Target[],
  plugins: readonly PluginDefinition[],
  secrets: readonly VaultSecret[],
  cwd: string,
  environment: Readonly<Record<string, string | undefined>>,
): void {
  const extra = extraVariables(argv);
  const prefix = stringOf(extra.get("prefix")) ?? "project";
  const instance = stringOf(extra.get("instance")) ?? "staging";
  const group = `${prefix}-${instance}`;
  const named = targets.find((target) => inventory.hosts.has(target.host));
  const members = deployHosts(inventory, group);
  const host = named?.host ?? (members.length === 1 ? members[0] : undefined);
  const variables = hostVariables(inventory, host, group);
  const evaluator = new TemplateEvaluator({ variables, extra, magic: magicVariables(inventory, host, prefix, instance), baseDir: inventory.dir, cwd, secrets, environment });
  const keyPrefixes = [...new Set([`${prefix}_${instance}_`, `${prefix}_${instance}_`.replace(/-/g, "_")])];
  const known = new Set([...Object.keys(readProjectSchema().properties), ...plugins.flatMap((plugin) => Object.keys(plugin.variables))]);
  const read = new Set([
    ...BARE_VARIABLES.filter((name) => known.has(name)),
    ...plugins.flatMap((plugin) => plugin.globals),
    ...CONNECTION_VARIABLES,
    // htaccess: true reads the inventory's users.
    "users",
    // playlabs' names without the usual prefix (resolve/playlabs.ts).
    `${prefix}_slack_icon`,
    `${prefix}-${instance}_email_from`,
  ]);
  const evaluated = new Map<string, InventoryVariable>();
  for (const name of [...variables.keys()].sort()) {
    if (!read.has(name) && !keyPrefixes.some((keyPrefix) => name.startsWith(keyPrefix) && name.length > keyPrefix.length)) continue;
    const variable = evaluator.variable(name);
    if (variable !== undefined) evaluated.set(name, variable);
  }
  inventory.host = host;
  inventory.variables = evaluated;
}

/** The command line's top-level values, as Ansible's extra vars: they win inside templates too. */
function extraVariables(argv: readonly Assignment[]): Map<string, ScopeValue> {
  const byName = new Map<string, Assignment[]>();
  for (const assignment of argv) {
    const name = assignment.path[0];
    if (name === undefined) continue;
    // A later whole value replaces the earlier leaves; env.A=1 env.B=2 add up.
    const list = assignment.path.length === 1 ? [] : (byName.get(name) ?? []).filter((item) => item.path.length > 1);
    list.push(assignment);
    byName.set(name, list);
  }
  const extra = new Map<string, ScopeValue>();
  for (const [name, assignments] of byName) {
    const last = assignments[assignments.length - 1];
    if (last === undefined) continue;
    extra.set(name, { value: valueOf(assignments), origin: last.origin, isSecret: assignments.some((item) => item.isSecret) });
  }
  return extra;
}

function stringOf(value: ScopeValue | undefined): string | undefined {
  return typeof value?.value === "string" ? value.value : undefined;
}

/** Ansible's magic variables that need no host contact, and playlabs' role defaults. */
function magicVariables(inventory: Inventory, host: string | undefined, prefix: string, instance: string): Map<string, ScopeValue> {
  const origin = { kind: "default" as const };
  const magic = new Map<string, ScopeValue>();
  const set = (name: string, value: unknown): void => void magic.set(name, { value, origin, isSecret: false });
  set("prefix", prefix);
  set("instance", instance);
  const groups: Record<string, string[]> = {};
  for (const name of inventory.groups.keys()) groups[name] = [...inventory.hosts].filter(([, member]) => member.includes(name)).map(([name]) => name);
  set("groups", groups);
  if (host !== undefined) {
    set("inventory_hostname", host);
    set("inventory_hostname_short", host.split(".")[0] ?? host);
    set("group_names", (inventory.hosts.get(host) ?? []).filter((name) => name !== "all").sort());
  }
  set("inventory_dir", inventory.dir);
  return magic;
}

export function readVaultPassword(spec: string): VaultSecret {
  // `--vault-id label@file` as Ansible writes it, or a plain file.
  const at = spec.indexOf("@");
  const id = at > 0 ? spec.slice(0, at) : undefined;
  const file = at > 0 ? spec.slice(at + 1) : spec;
  let content: string;
  try {
    content = readFileSync(file, "utf8");
  } catch {
    fail("vault-password-unreadable", { file }, { variable: "--vault-password-file" });
  }
  try {
    return parseVaultPasswordFile(content, id);
  } catch (error) {
    // An empty or unusable password file is bad input, named as such (it was an internal error).
    return fail("vault-password-invalid", { file, problem: (error as Error).message }, { variable: "--vault-password-file" });
  }
}
