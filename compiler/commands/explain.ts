// `plc explain`: each resolved value, where it came from and what it overrode.
import { resolve } from "node:path";
import type { Command } from "commander";
import { loadOptions, withSpecOptions, type Run, type SpecOptions } from "./options.js";

export function register(program: Command, run: Run): void {
  withSpecOptions(program.command("explain"))
    .description("each resolved value, where it came from and what it overrode (secrets masked); a bare variable name (image, env.KEY) narrows it")
    .action((operands: string[], flags: SpecOptions) =>
      run(async () => {
        const [{ checkSpec }, { explainText, splitNames }, { readPlugins }] = await Promise.all([import("../index.js"), import("../explain.js"), import("../load/plugins.js")]);
        const { names, words } = splitNames(operands, readPlugins((flags.pluginsDir ?? []).map((dir) => resolve(dir)), process.cwd()));
        const { spec } = checkSpec(loadOptions(words, flags));
        process.stdout.write(explainText(spec, names));
      }),
    );
}
