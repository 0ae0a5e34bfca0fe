// `plc check`: validate and print the resolved spec (secrets masked); write nothing.
import type { Command } from "commander";
import { loadOptions, withLocalImage, withSpecOptions, type Run, type SpecOptions } from "./options.js";

export function register(program: Command, run: Run): void {
  withSpecOptions(program.command("check"))
    .description("validate and print the resolved spec (secrets masked); write nothing")
    .action((operands: string[], flags: SpecOptions) =>
      run(() =>
        withLocalImage(loadOptions(operands, flags), async (loaded) => {
          const [{ checkSpec }, { checkSummary }] = await Promise.all([import("../index.js"), import("../explain.js")]);
          const { spec } = checkSpec(await loaded());
          for (const note of spec.notes) process.stderr.write(`note: ${note}\n`);
          process.stdout.write(checkSummary(spec));
        }),
      ),
    );
}
