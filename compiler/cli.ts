#!/usr/bin/env node
// The command line: the program, its commands (one module each in commands/), and the one place
// where diagnostics become text and exit codes. Commands load their implementation when they run,
// so `plc --version` or a usage error costs no compiler start-up.
import { Command, Option } from "commander";
import { register as build } from "./commands/build.js";
import { register as check } from "./commands/check.js";
import { register as completion } from "./commands/completion.js";
import { register as diff } from "./commands/diff.js";
import { register as explain } from "./commands/explain.js";
import { register as init } from "./commands/init.js";
import { register as install } from "./commands/install.js";
import { setTypedArgv, VERSION, type Register, type Run } from "./commands/options.js";
import { rewritePlaylabsArgv } from "./commands/playlabs-argv.js";
import { register as prepBuild } from "./commands/prep-build.js";
import { register as reference } from "./commands/reference.js";
import { register as render } from "./commands/render.js";
import { register as scaffold } from "./commands/scaffold.js";
import { register as ship } from "./commands/ship.js";
import { register as sign } from "./commands/sign.js";
import { register as verify } from "./commands/verify.js";

/** Runs a command's action: a returned number is the exit status; a thrown PlcError is reported. */
const run: Run = async (action) => {
  try {
    const status = await action();
    if (typeof status === "number") process.exitCode = status;
  } catch (error) {
    await report(error);
  }
};

async function report(error: unknown): Promise<void> {
  const { exitCodeOf, PlcError } = await import("./diagnostics.js");
  if (error instanceof PlcError) {
    const [{ formatDiagnostic, formatDiagnosticJson }, { readSourceLine }] = await Promise.all([import("./report.js"), import("./load/source-line.js")]);
    const isColor = process.stderr.isTTY && process.env["NO_COLOR"] === undefined;
    const isJson = errorFormat(process.argv.slice(2)) === "json";
    for (const d of error.diagnostics) {
      if (isJson) {
        process.stderr.write(formatDiagnosticJson(d) + "\n");
        continue;
      }
      const source = d.origin?.kind === "file" ? readSourceLine(d.origin.file, d.origin.line) : undefined;
      process.stderr.write(formatDiagnostic(d, { isColor }, source) + "\n");
    }
    process.exitCode = exitCodeOf(error.diagnostics);
    return;
  }
  process.stderr.write(`plc: internal error (this is a bug in plc, please report it):\n${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 70;
}

/**
 * `--error-format json|text`, wherever it stands (before or after the command): read from argv itself,
 * since a diagnostic may come before commander has parsed anything (the playlabs forms).
 */
function errorFormat(argv: readonly string[]): string | undefined {
  const words = argv.slice(0, argv.includes("--") ? argv.indexOf("--") : argv.length);
  const index = words.findLastIndex((word) => word === "--error-format" || word.startsWith("--error-format="));
  const word = words[index];
  if (word === undefined) return undefined;
  return word.includes("=") ? word.slice(word.indexOf("=") + 1) : words[index + 1];
}

const program = new Command()
  .name("plc")
  .version(VERSION)
  .description("Compile a deployment spec into a reproducible bundle of shell, systemd, logrotate and nginx files.")
  .addOption(new Option("--error-format <format>", "how errors are printed: text, or json (one line per error: code, exit, message, hint, args, origin)").choices(["text", "json"]).default("text"))
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

// In the order `plc --help` lists them.
// prepBuild adds --prep to build, so it comes after it.
const commands: Register[] = [build, prepBuild, check, explain, render, verify, reference, diff, scaffold, init, install, sign, completion, ship];
for (const register of commands) register(program, run);

/** The command line with playlabs' forms turned into plc's (a bad one is reported like any input). */
async function rewriteArgv(): Promise<string[]> {
  try {
    const rewritten = rewritePlaylabsArgv(process.argv.slice(2));
    setTypedArgv(rewritten);
    return rewritten.argv;
  } catch (error) {
    await report(error);
    process.exit(process.exitCode);
  }
}

// No top-level await: the shipped bundle is a CommonJS script (scripts/build.ts).
void rewriteArgv()
  .then((argv) => program.parseAsync(argv, { from: "user" }))
  .catch(report);
