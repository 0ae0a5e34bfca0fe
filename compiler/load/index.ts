// Phase 1, load: the only phase that reads files. Argv, inventory, vault, plugins, image config.
import { readFileSync } from "node:fs";
import { fail } from "../diagnostics.js";
import type { PasswordFile, WrittenSpec } from "../types.js";
import { parseArgv, type Word } from "./argv.js";
import { readInventory } from "./inventory.js";
import { readPasswords } from "./passwords.js";
import { readPlugins } from "./plugins.js";
import { inspectLocalImage, readImageArchive } from "./image.js";
import { parseVaultPasswordFile, type VaultSecret } from "./vault.js";

export interface LoadOptions {
  words: Word[];
  /** `-p` values, with their argv index. */
  plugins: Word[];
  inventoryDir: string | undefined;
  vaultPasswordFiles: string[];
  pluginsDirs: string[];
  imageArchive: string | undefined;
  /** Ask a local docker for the image config when no archive is given (the CLI does; tests do not). */
  inspectLocalDocker?: boolean;
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
  const secrets = options.vaultPasswordFiles.map(readVaultPassword);
  const inventory =
    options.inventoryDir === undefined ? undefined : readInventory(options.inventoryDir, secrets, options.cwd);
  const plugins = readPlugins(options.pluginsDirs, options.cwd);
  const archive = options.imageArchive === undefined ? undefined : readImageArchive(options.imageArchive, options.cwd);
  let imageEnv = archive?.env;
  let imageNote: string | undefined;
  const image = parsed.assignments.filter((a) => a.path.length === 1 && a.path[0] === "image").pop()?.value;
  const hasPlugins = parsed.assignments.some((a) => a.path[0] === "plugins");
  if (imageEnv === undefined && options.inspectLocalDocker === true && !hasPlugins && typeof image === "string") {
    imageEnv = inspectLocalImage(image);
    if (imageEnv === undefined) {
      imageNote = `the config of ${image} could not be read (no --image-archive, no local docker with it): ENV PLAYLABS_PLUGINS is not used`;
    }
  }
  const imageArchive = options.imageArchive === undefined ? undefined : readFileSync(options.imageArchive);
  const passwords =
    options.inventoryDir === undefined ? new Map<string, PasswordFile>() : readPasswords(options.inventoryDir, secrets, options.cwd);
  return { argv: parsed.assignments, targets: parsed.targets, inventory, imageEnv, imageArchive, imageTags: archive?.tags, imageNote, plugins, passwords };
}

function readVaultPassword(spec: string): VaultSecret {
  // `--vault-id label@file` as Ansible writes it, or a plain file.
  const at = spec.indexOf("@");
  const id = at > 0 ? spec.slice(0, at) : undefined;
  const file = at > 0 ? spec.slice(at + 1) : spec;
  let content: string;
  try {
    content = readFileSync(file, "utf8");
  } catch {
    fail("missing-value", `cannot read vault password file '${file}'`, {
      variable: "--vault-password-file",
      hint: "give a readable file holding the vault password",
    });
  }
  try {
    return parseVaultPasswordFile(content, id);
  } catch (error) {
    // An empty or unusable password file is bad input, named as such (it was an internal error).
    return fail("vault-error", `vault password file '${file}': ${(error as Error).message}`, {
      variable: "--vault-password-file",
      hint: "write the vault password on the file's first line",
    });
  }
}
