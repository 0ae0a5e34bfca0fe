// plc build --prep: the prep bundle written to -o DIR (dist/ by default), to run as `sudo sh prep.sh`.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fail } from "../diagnostics.js";
import { locate, prepOptions, type PrepCommandOptions } from "./command-helpers.js";
import { compilePrep } from "./compile.js";
import { parseRoles } from "./roles.js";

export function buildPrepBundle(rolesText: string | undefined, operands: readonly string[], options: PrepCommandOptions & { outDir: string; inventory?: string }): void {
  if (rolesText === undefined) fail("offline-without-prep", {}, { variable: "--offline" });
  const rolesIndex = process.argv.slice(2).findIndex((word) => word === "--prep" || word.startsWith("--prep="));
  const roles = parseRoles(rolesText, { kind: "argv", index: rolesIndex < 0 ? 1 : rolesIndex + 1, text: rolesText });
  const [extra] = locate(operands);
  if (extra !== undefined) fail("prep-variables", { text: extra.text }, { origin: { kind: "argv", index: extra.index, text: extra.text } });
  const compiled = compilePrep(prepOptions(roles, options, undefined, undefined));
  const path = join(options.outDir, compiled.packed.fileName);
  try {
    mkdirSync(options.outDir, { recursive: true });
    const temporary = join(options.outDir, `.${compiled.packed.fileName}.tmp-${String(process.pid)}`);
    writeFileSync(temporary, compiled.packed.tgz, { mode: 0o644 });
    renameSync(temporary, path);
  } catch (error) {
    fail("cannot-write", { path, reason: (error as Error).message, flag: "-o" }, { variable: "-o" });
  }
  process.stdout.write(`${path}\n`);
  process.stderr.write(`prep bundle ${compiled.packed.id.slice(0, 12)}: ${roles.join(",")}, ${String(compiled.bundle.files.length)} files${options.offline === true ? ", offline apt repository inside" : ""}; on the host: tar xzf it, then sudo sh plc-prep/prep.sh [--check]\n`);
}
