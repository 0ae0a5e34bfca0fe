#!/usr/bin/env node
// The command line: parse options, call one compiler function, write files, set the exit code.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { Command, Option } from "commander";
import { checkSpec, compileBundle, type Compiled } from "./index.js";
import { exitCodeOf, fail, formatOrigin, PlcError, type Diagnostic } from "./diagnostics.js";
import type { LoadOptions } from "./load/index.js";
import type { Word } from "./load/argv.js";
import { readPlugins } from "./load/plugins.js";
import { PACKAGE_ROOT } from "./paths.js";
import { formatDiagnostic } from "./report.js";
import { shAssign } from "./render/quote.js";
import { verifyBundleFile } from "./verify.js";
import { renderVariablesReference } from "./reference.js";
import { selfExtractingBundle, selfExtractingName } from "./ship/self-extracting.js";
import { readProjectSchema, schemaFor } from "./validate/index.js";
import { explainSpec } from "./explain.js";
import type { BundleFile } from "./types.js";
import { collect, type SpecOptions } from "./options.js";
import { registerShipCommand } from "./ship/command.js";
import { registerDiffCommand } from "./ship/diff-command.js";
import { registerScaffoldCommands } from "./commands/scaffold.js";
import { registerInstallCommand } from "./commands/install.js";
import { registerSignCommand } from "./commands/sign.js";
import { registerPrepBuild } from "./commands/prep-build.js";
import { registerCompletionCommand } from "./completion.js";

const VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }).version;
const isColor = process.stderr.isTTY && process.env["NO_COLOR"] === undefined;

/** Options every command that reads a spec takes. */
function withSpecOptions(command: Command): Command {
  return command
    .argument("[vars...]", "name=value, env.KEY=value, '{\"json\":\"object\"}', a bare image, @host")
    .option("-i, --inventory <dir>", "inventory directory in Ansible layout")
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

function loadOptions(operands: string[], options: SpecOptions): LoadOptions {
  const raw = process.argv.slice(2);
  const { words, plugins } = locateWords(raw, operands);
  const vaultFiles = [...(options.vaultPasswordFile ?? []), ...(options.vaultId ?? [])];
  const fromEnv = process.env["ANSIBLE_VAULT_PASSWORD_FILE"];
  if (vaultFiles.length === 0 && fromEnv !== undefined && fromEnv !== "") vaultFiles.push(fromEnv);
  return {
    words,
    plugins,
    inventoryDir: options.inventory,
    vaultPasswordFiles: vaultFiles,
    pluginsDirs: (options.pluginsDir ?? []).map((dir) => resolve(dir)),
    imageArchive: options.imageArchive === undefined ? undefined : resolve(options.imageArchive),
    inspectLocalDocker: true,
    cwd: process.cwd(),
  };
}

function packOptions(extraFiles: BundleFile[] = []): { plcVersion: string; mtime: number; extraFiles: BundleFile[] } {
  const epoch = process.env["SOURCE_DATE_EPOCH"];
  const mtime = epoch !== undefined && /^[0-9]+$/.test(epoch) ? Number(epoch) : 0;
  return { plcVersion: VERSION, mtime, extraFiles };
}

interface Output {
  path: string;
  content: Buffer | string;
  mode: number;
}

/** Why a write failed, in words; the errno code stays for the curious. */
function ioReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const reasons: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "permission denied",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    EDQUOT: "disk quota exceeded",
    EISDIR: "a directory is in the way",
    ENOTDIR: "a file is in the way",
    EEXIST: "a file is in the way",
  };
  return reasons[code] ?? (code === "" ? String(error) : code);
}

/** `-o DIR` as a directory: creates it; a file there (or above it) is bad input, exit 2. */
function prepareOutDir(dir: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // Absent (or unreachable): mkdir below says which.
  }
  if (isDirectory) return;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR") {
      fail("invalid-argument", `-o ${dir} is not a directory`, { variable: "-o", hint: "give a directory (it is created if missing)" });
    }
    fail("io-error", `cannot create ${dir}: ${ioReason(error)}`, { variable: "-o", hint: "give a directory you can write to" });
  }
}

/**
 * Writes every output or none, exit 1 on failure: each goes to a temporary beside it, then they
 * are renamed in order (the tarball last, so it never stands without its secrets file); a failure
 * removes the temporaries and whatever this run had already renamed.
 */
function writeOutputs(outputs: readonly Output[]): void {
  const temporaries: string[] = [];
  const renamed: string[] = [];
  const undo = (): void => {
    for (const path of [...temporaries, ...renamed]) rmSync(path, { force: true });
  };
  for (const output of outputs) {
    const temporary = join(dirname(output.path), `.${basename(output.path)}.tmp-${process.pid}`);
    try {
      temporaries.push(temporary);
      writeFileSync(temporary, output.content, { mode: output.mode, flag: "wx" });
      chmodSync(temporary, output.mode);
    } catch (error) {
      undo();
      fail("io-error", `cannot write ${output.path}: ${ioReason(error)}`, { variable: "-o", hint: "nothing was written; give a directory you can write to (-o DIR)" });
    }
  }
  outputs.forEach((output, index) => {
    const temporary = temporaries[index] ?? "";
    try {
      renameSync(temporary, output.path);
      temporaries[index] = "";
      renamed.push(output.path);
    } catch (error) {
      undo();
      fail("io-error", `cannot write ${output.path}: ${ioReason(error)}`, { variable: "-o", hint: "nothing was written; move what is in the way or choose another -o DIR" });
    }
  });
}

function build(operands: string[], options: SpecOptions & { outDir: string; embedSecrets?: boolean; selfExtracting?: boolean }): void {
  const extraFiles: BundleFile[] = [];
  let compiled: Compiled = compileBundle(loadOptions(operands, options), packOptions(extraFiles));
  if (options.embedSecrets === true && compiled.bundle.secrets.length > 0) {
    extraFiles.push({ path: "secrets.env", mode: 0o600, content: secretsText(compiled) });
    compiled = compileBundle(loadOptions(operands, options), packOptions(extraFiles));
  }
  for (const note of compiled.spec.notes) process.stderr.write(`note: ${note}\n`);
  const tarball = join(options.outDir, compiled.packed.fileName);
  // Secrets inside: readable by the builder alone, like the *.secrets.env plc writes otherwise.
  const holdsSecrets = options.embedSecrets === true && compiled.bundle.secrets.length > 0;
  const outputs: Output[] = [];
  if (compiled.bundle.secrets.length > 0 && options.embedSecrets !== true) {
    outputs.push({ path: tarball.replace(/\.tar\.gz$/, ".secrets.env"), content: secretsText(compiled), mode: 0o600 });
  }
  if (options.selfExtracting === true) {
    const runFile = join(options.outDir, selfExtractingName(compiled.packed));
    outputs.push({ path: runFile, content: selfExtractingBundle(compiled.packed, compiled.bundle.root), mode: holdsSecrets ? 0o700 : 0o755 });
  }
  outputs.push({ path: tarball, content: compiled.packed.tgz, mode: holdsSecrets ? 0o600 : 0o644 });
  prepareOutDir(options.outDir);
  writeOutputs(outputs);
  // Printed in the order scripts have always read: tarball, .run, secrets file.
  for (const output of [...outputs].reverse()) process.stdout.write(`${output.path}\n`);
  process.stderr.write(`bundle ${compiled.packed.id.slice(0, 12)}: ${compiled.spec.name}, image ${compiled.spec.image}, ${compiled.packed.files.length} files\n`);
}

function secretsText(compiled: Compiled): string {
  return compiled.bundle.secrets.map((secret) => `${shAssign(secret.key, secret.value)}\n`).join("");
}

function renderTree(operands: string[], options: SpecOptions & { output: string }): void {
  const compiled = compileBundle(loadOptions(operands, options), packOptions());
  const root = resolve(options.output);
  // Replaced whole, so only an empty folder or an earlier render: `-o .` must not wipe a project.
  if (existsSync(root) && !statSync(root).isDirectory()) {
    fail("invalid-argument", `-o ${options.output} is not a directory`, { variable: "-o", hint: "give a new or empty directory (plc render replaces it whole)" });
  }
  if (existsSync(root) && readdirSync(root).length > 0 && !existsSync(join(root, "MANIFEST.json"))) {
    fail("invalid-argument", `${options.output} is not empty and holds no earlier render`, {
      variable: "-o",
      hint: "give a new or empty directory (plc render replaces it whole)",
    });
  }
  // Written beside, then swapped in: a failed render leaves the earlier one, not half a tree.
  const temporary = join(dirname(root), `.${basename(root)}.tmp-${process.pid}`);
  try {
    for (const file of compiled.packed.files) {
      const path = join(temporary, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.content, { mode: file.mode });
      chmodSync(path, file.mode);
    }
    rmSync(root, { recursive: true, force: true });
    renameSync(temporary, root);
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "EEXIST") fail("invalid-argument", `-o ${options.output} is not a directory`, { variable: "-o", hint: "give a new or empty directory" });
    fail("io-error", `cannot write ${options.output}: ${ioReason(error)}`, { variable: "-o", hint: "give a directory you can write to" });
  }
  process.stdout.write(`${root}\n`);
}

/** The one place errors become text and exit codes. */
function run(action: () => void): void {
  try {
    action();
  } catch (error) {
    report(error);
  }
}

/** run() for commands that wait on other processes (ship, diff); they may return a status (diff: 1 = differs). */
async function runAsync(action: () => Promise<number | undefined>): Promise<void> {
  try {
    const status = await action();
    if (typeof status === "number") process.exitCode = status;
  } catch (error) {
    report(error);
  }
}

function report(error: unknown): void {
  if (error instanceof PlcError) {
    reportAll(error.diagnostics);
    process.exitCode = exitCodeOf(error.diagnostics);
    return;
  }
  process.stderr.write(`plc: internal error (this is a bug in plc, please report it):\n${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 70;
}

function reportAll(diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) process.stderr.write(formatDiagnostic(d, { isColor }) + "\n");
}

const program = new Command()
  .name("plc")
  .version(VERSION)
  .description("Compile a deployment spec into a reproducible bundle of shell, systemd, logrotate and nginx files.")
  .showHelpAfterError("(plc --help for usage)")
  // A usage error (unknown option, missing argument) is bad input like any other: exit 2.
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  })
  .addHelpText(
    "after",
    `
Examples:
  plc build image=betagouv/mrs:master prefix=ybs instance=hack env.SECRET_KEY=x backup_password=foo
  plc build -i inventory prefix=yourproject instance=production
  plc explain -i inventory prefix=yourproject instance=production image
  plc ship dist/ybs-hack-<id>.tar.gz @somehost
  plc verify dist/ybs-hack-<id>.tar.gz

Exit status: 0 done, 2 bad input (nothing written), 1 a failure while doing the job.`,
  );

withSpecOptions(program.command("build"))
  .description("compile the bundle: dist/<prefix>-<instance>-<id>.tar.gz (+ .secrets.env, mode 0600)")
  .option("-o, --out-dir <dir>", "where to write the tarball", "dist")
  .option("--embed-secrets", "put secrets inside the tarball (never for a public release)")
  .option("--self-extracting", "also write <name>.run: one executable file that checks its payload and installs itself")
  .action((operands: string[], options: SpecOptions & { outDir: string; embedSecrets?: boolean; selfExtracting?: boolean }) => {
    run(() => {
      build(operands, options);
    });
  });

withSpecOptions(program.command("check"))
  .description("validate and print the resolved spec (secrets masked); write nothing")
  .action((operands: string[], options: SpecOptions) => {
    run(() => {
      const { spec } = checkSpec(loadOptions(operands, options));
      for (const note of spec.notes) process.stderr.write(`note: ${note}\n`);
      const summary = {
        name: spec.name,
        plugins: spec.plugins.map((plugin) => plugin.name),
        values: Object.fromEntries(explainSpec(spec).map((value) => [value.name, value.value])),
      };
      process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    });
  });

withSpecOptions(program.command("explain"))
  .description("each resolved value, where it came from and what it overrode (secrets masked); a bare variable name (image, env.KEY) narrows it")
  .action((operands: string[], options: SpecOptions) => {
    run(() => {
      const known = new Set(Object.keys(readProjectSchema().properties));
      const isName = (word: string): boolean => /^[a-z_][a-z0-9_]*(\.[A-Za-z0-9_]+)*$/.test(word) && known.has(word.split(".")[0] ?? "");
      const names = operands.filter(isName);
      const { spec } = checkSpec(loadOptions(operands.filter((word) => !isName(word)), options));
      for (const value of explainSpec(spec)) {
        if (names.length > 0 && !names.some((name) => value.name === name || value.name.startsWith(`${name}.`))) continue;
        const overrode = value.overrode.length === 0 ? "" : ` (overrode ${value.overrode.map(formatOrigin).join(", ")})`;
        process.stdout.write(`${value.name} = ${JSON.stringify(value.value)}  <- ${formatOrigin(value.origin)}${overrode}\n`);
      }
    });
  });

withSpecOptions(program.command("render"))
  .description("write the bundle tree unpacked, for reading and diffing")
  .requiredOption("-o, --output <dir>", "directory to (re)create")
  .action((operands: string[], options: SpecOptions & { output: string }) => {
    run(() => {
      renderTree(operands, options);
    });
  });

program
  .command("verify")
  .description("check a bundle's structure, MANIFEST.json and SHA256SUMS; print what it deploys")
  .argument("<bundle>", "a .tar.gz written by plc build")
  .action((file: string) => {
    run(() => {
      const { manifest, problems } = verifyBundleFile(file, process.cwd());
      if (problems.length > 0) throw new PlcError(problems);
      if (manifest === undefined) return;
      const lines = [
        ["project", manifest.project],
        ["instance", manifest.instance],
        ["image", manifest.image],
        ["plugins", manifest.plugins.join(",") || "(none)"],
        ["secrets", manifest.secrets.join(",") || "(none)"],
        ["plc", manifest.plc],
        ["id", manifest.id],
        ["files", String(manifest.files.length)],
      ];
      for (const [key, value] of lines) process.stdout.write(`${(key ?? "").padEnd(9)}${value ?? ""}\n`);
      process.stderr.write("ok: checksums, manifest and id verified\n");
    });
  });

program
  .command("schema")
  .description("print the JSON Schema of the project variables (with the built-in plugins' variables)")
  .option("--markdown", "print the variables reference (docs/variables.md) instead")
  .action((options: { markdown?: boolean }) => {
    run(() => {
      const plugins = readPlugins([], process.cwd());
      const schema = schemaFor(plugins, readProjectSchema());
      process.stdout.write(options.markdown === true ? renderVariablesReference(readProjectSchema(), plugins) : JSON.stringify(schema, null, 2) + "\n");
    });
  });

program
  .command("plugins")
  .description("list the plugins, their descriptions and variables with defaults")
  .addOption(new Option("--plugins-dir <dir>", "extra plugins directory (repeatable)").argParser(collect).default([]))
  .action((options: { pluginsDir: string[] }) => {
    run(() => {
      for (const plugin of readPlugins(options.pluginsDir.map((dir) => resolve(dir)), process.cwd())) {
        process.stdout.write(`${plugin.name}: ${plugin.description}\n`);
        if (plugin.shadows !== undefined) process.stdout.write(`  from ${plugin.dir}: shadows the built-in ${plugin.name} plugin\n`);
        const order = [...plugin.requires.map((p) => `requires ${p}`), ...plugin.after.map((p) => `after ${p}`)];
        if (order.length > 0) process.stdout.write(`  order: ${order.join(", ")}\n`);
        for (const [name, fragment] of Object.entries(plugin.variables)) {
          const { description, default: value } = fragment as { description?: string; default?: unknown };
          const shown = value === undefined ? "" : ` (default ${JSON.stringify(value)})`;
          process.stdout.write(`  ${name}${shown}: ${description ?? ""}\n`);
        }
      }
    });
  });

registerDiffCommand(program, { loadOptions, runAsync });
registerScaffoldCommands(program, { run, runAsync });
registerInstallCommand(program, { runAsync });
registerSignCommand(program, { runAsync });
registerPrepBuild(program, { run });
registerCompletionCommand(program, { run });
registerShipCommand(program, { withSpecOptions, loadOptions, packOptions, secretsText, runAsync });

program.parse();
