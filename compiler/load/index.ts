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
import { resolveSpec } from "../resolve/index.js";
import { isImageReference } from "../validate/formats.js";

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
  const imageArchive = options.imageArchive === undefined ? undefined : readFileSync(options.imageArchive);
  const passwords =
    options.inventoryDir === undefined ? new Map<string, PasswordFile>() : readPasswords(options.inventoryDir, secrets, options.cwd);
  const written: WrittenSpec = { argv: parsed.assignments, targets: parsed.targets, inventory, imageEnv: archive?.env, imageArchive, imageTags: archive?.tags, imageNote: undefined, plugins, passwords };
  if (written.imageEnv !== undefined || options.inspectLocalDocker !== true) return written;
  // The image may come from the command line or the inventory: resolve (pure) says which won.
  const image = imageOf(written);
  if (image === undefined) return written;
  const imageEnv = inspectLocalImage(image);
  const imageNote =
    imageEnv === undefined
      ? `the config of ${image} could not be read (no --image-archive, no local docker with it): ENV PLAYLABS_PLUGINS and the image's UWSGI_SPOOLER_* are not used`
      : undefined;
  return { ...written, imageEnv, imageNote };
}

/** The image the spec names, wherever it was set; undefined when the spec does not resolve yet. */
function imageOf(written: WrittenSpec): string | undefined {
  try {
    const value = resolveSpec(written).values.get("/image")?.value;
    return typeof value === "string" && isImageReference(value) ? value : undefined;
  } catch {
    // The build itself reports what is wrong.
    return undefined;
  }
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
