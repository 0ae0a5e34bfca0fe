// `plc schema` and `plc plugins`: what plc knows, for people and editors.
import { Option, type Command } from "commander";
import { collect, type Run } from "./options.js";

export function register(program: Command, run: Run): void {
  program
    .command("schema")
    .description("print the JSON Schema of the project variables (with the built-in plugins' variables)")
    .option("--markdown", "print the variables reference (docs/variables.md) instead")
    .action((flags: { markdown?: boolean }) =>
      run(async () => {
        const { schemaText } = await import("../reference.js");
        process.stdout.write(schemaText(process.cwd(), flags.markdown === true));
      }),
    );

  program
    .command("plugins")
    .description("list the plugins, their descriptions and variables with defaults")
    .addOption(new Option("--plugins-dir <dir>", "extra plugins directory (repeatable)").argParser(collect).default([]))
    .action((flags: { pluginsDir: string[] }) =>
      run(async () => {
        const { pluginsText } = await import("../reference.js");
        process.stdout.write(pluginsText(flags.pluginsDir, process.cwd()));
      }),
    );
}
