// `plc render --out-dir DIR`: the bundle tree unpacked, for reading and diffing.
import { Option, type Command } from "commander";
import { fail } from "../diagnostics.js";
import { loadOptions, packOptions, withSpecOptions, type Run, type SpecOptions } from "./options.js";

interface RenderFlags extends SpecOptions {
  outDir?: string;
  /** The spelling before 0.2 (`--output`); kept for scripts, with a note. */
  output?: string;
}

export function register(program: Command, run: Run): void {
  withSpecOptions(program.command("render"))
    .description("write the bundle tree unpacked, for reading and diffing")
    .option("-o, --out-dir <dir>", "directory to (re)create")
    .addOption(new Option("--output <dir>", "old spelling of --out-dir").hideHelp())
    .action((operands: string[], flags: RenderFlags) =>
      run(async () => {
        if (flags.output !== undefined) process.stderr.write("note: plc render --output is now --out-dir (or -o), as for plc build\n");
        const dir = flags.outDir ?? flags.output;
        if (dir === undefined) fail("render-needs-dir", {}, { variable: "--out-dir" });
        const { writeTree } = await import("../write.js");
        process.stdout.write(`${writeTree(loadOptions(operands, flags), packOptions(), dir, "-o")}\n`);
      }),
    );
}
