// `plc scaffold DIR` (and `plc init DIR`, its old name): a new inventory in playlabs layout, with commented examples of the main variables
// and a JSON Schema beside it so YAML editors complete the prefixed names.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { displayPath, fail } from "./diagnostics.js";
import { readPlugins } from "./load/plugins.js";
import { readProjectSchema, schemaFor } from "./validate/index.js";
import { suggestName } from "./validate/formats.js";

/** The schema as plc schema prints it. */
type ProjectSchema = ReturnType<typeof readProjectSchema>;

export interface InitOptions {
  prefix: string;
  instance: string;
  /** Where a name was given as `prefix=…`/`instance=…` (argv index), so a bad one is located there. */
  words?: Partial<Record<"prefix" | "instance", number>>;
}

export interface ScaffoldFile {
  /** Relative to the inventory directory. */
  path: string;
  content: string;
}

/** Where the editor schema lives: hidden, because Ansible reads every other file of an inventory directory. */
export const EDITOR_SCHEMA = ".plc/variables.schema.json";

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The main variables, in the order a newcomer meets them, with an example value written as YAML. */
const EXAMPLES: readonly [name: string, yaml: (vars: InitOptions) => string[]][] = [
  ["plugins", () => ["[postgres, django, uwsgi]"]],
  ["env", () => ["", "  DJANGO_SETTINGS_MODULE: project.settings", "  SECRET_KEY: !vault |", "    $ANSIBLE_VAULT;1.1;AES256", "    6231…"]],
  ["secret_env", () => ["[SECRET_KEY]"]],
  ["dns", ({ prefix, instance }) => [`[${instance}.${prefix}.example.com]`]],
  ["dns_redirect", ({ prefix, instance }) => [`[www.${instance}.${prefix}.example.com]`]],
  ["htaccess", () => ["[{user: demo, password: changeme}]"]],
  ["backup_password", () => ["!vault |", "  $ANSIBLE_VAULT;1.1;AES256", "  3863…"]],
  // The mirror goes to <path>/<prefix>-<instance>/restic: one account and path serve every instance.
  ["lftp_dsn", () => ["sftp://backup:password@backup.example.com/backups"]],
  ["retention", () => ["{last: 7, daily: 7, weekly: 5, monthly: 12, yearly: 75}"]],
  ["port", () => ["8000"]],
  ["healthcheck_path", () => ["/"]],
  ["healthcheck_timeout", () => ["60"]],
];

/** The inventory's files, as data; the caller writes them. */
export function scaffoldInventory(options: InitOptions, schema: ProjectSchema): ScaffoldFile[] {
  const { prefix, instance } = options;
  const group = `${prefix}-${instance}`;
  // Ansible variable names cannot hold '-', and plc reads both spellings.
  const key = (name: string): string => `${prefix}_${instance}_${name}`.replace(/-/g, "_");
  const describe = (name: string): string => {
    const fragment = schema.properties[name] as { description?: string } | undefined;
    return fragment?.description ?? "";
  };

  const project: string[] = [
    `# yaml-language-server: $schema=../../${EDITOR_SCHEMA}`,
    `# Variables of ${group}. plc, like playlabs, reads <prefix>_<instance>_<name> here, then in`,
    `# group_vars/${group}.yml, then in host_vars/<host>/; the command line wins over all of them.`,
    `# plc schema lists every variable; plc explain -i . prefix=${prefix} instance=${instance} shows where each value came from.`,
    "",
    `# ${describe("image")}`,
    `${key("image")}: registry.example.com/${prefix}:${instance}`,
  ];
  for (const [name, example] of EXAMPLES) {
    if (schema.properties[name] === undefined) continue;
    const [first = "", ...rest] = example(options);
    project.push("", `# ${describe(name)}`, `# ${key(name)}:${first === "" ? "" : ` ${first}`}`, ...rest.map((line) => `# ${line}`));
  }

  const inventory = [
    `# Hosts of each instance: plc ship -i . prefix=${prefix} instance=${instance} deploys to the group ${group}.`,
    "all:",
    "  children:",
    `    ${group}:`,
    "      hosts:",
    `        # ${instance}.${prefix}.example.com:`,
    "        #   ansible_host: 192.0.2.10",
    "        #   ansible_user: deploy",
  ];

  const gitignore = [
    "# Secrets stay out of git: plc build writes them beside each bundle (mode 0600),",
    "# and Ansible Vault passwords belong to a person or a CI secret variable.",
    "*.secrets.env",
    // playlabs' own vault password file, beside the inventory (cli/ansible.py Vault).
    ".vault",
    ".vault_pass*",
    ".vault-pass*",
    "vault_pass*",
    "vault-pass*",
    "*.vault-password",
    "dist/",
  ];

  return [
    { path: ".gitignore", content: lines(gitignore) },
    { path: EDITOR_SCHEMA, content: JSON.stringify(editorSchema(schema, key, group), null, 2) + "\n" },
    { path: "group_vars/all/project.yml", content: lines(project) },
    { path: "inventory.yaml", content: lines(inventory) },
  ];
}

function lines(list: readonly string[]): string {
  return list.join("\n") + "\n";
}

/** plc's schema with the inventory's prefixed names: other keys stay allowed (other projects share the file). */
function editorSchema(schema: ProjectSchema, key: (name: string) => string, group: string): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [name, fragment] of Object.entries(schema.properties)) {
    // prefix and instance name the variables; they are never variables of their own instance.
    if (name === "prefix" || name === "instance") continue;
    properties[key(name)] = fragment;
  }
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: `plc variables of ${group}`,
    description: `Written by plc init from plc schema; run plc init again elsewhere to refresh it after a plc upgrade.`,
    type: "object",
    properties,
    additionalProperties: true,
  };
}

/** Checks the names and DIR, then writes the files; returns what was written. */
export function initInventory(dir: string, options: InitOptions, cwd: string): string[] {
  for (const name of ["prefix", "instance"] as const) {
    const value = options[name];
    if (NAME.test(value)) continue;
    const suggestion = suggestName(value);
    const index = options.words?.[name];
    const spelled = (text: string): string => (index === undefined ? `--${name} ${text}` : `${name}=${text}`);
    fail("init-invalid-name", { shown: spelled(value), suggestion: suggestion === "" ? undefined : spelled(suggestion) }, index === undefined ? { variable: `--${name}` } : { origin: { kind: "argv" as const, index, text: `${name}=${value}` } });
  }
  const root = resolve(cwd, dir);
  if (existsSync(root)) {
    if (!statSync(root).isDirectory()) fail("init-dir-is-file", { dir: displayPath(cwd, root) }, { variable: "DIR" });
    if (readdirSync(root).length > 0) {
      fail("init-dir-not-empty", { dir: displayPath(cwd, root) }, { variable: "DIR" });
    }
  }
  const schema = schemaFor(readPlugins([], cwd), readProjectSchema());
  const written: string[] = [];
  for (const file of scaffoldInventory(options, schema)) {
    const path = join(root, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content, { mode: 0o644, flag: "wx" });
    written.push(displayPath(cwd, path));
  }
  return written;
}
