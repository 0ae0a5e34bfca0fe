// `plc scaffold DIR prefix=… instance=…`: a new inventory in playlabs layout (playlabs' name for it;
// `plc init DIR` still makes one, with a note).
import { Option, type Command } from "commander";
import { scaffold } from "./init.js";
import type { Run } from "./options.js";

export function register(program: Command, run: Run): void {
  program
    .command("scaffold")
    .description("a new inventory in playlabs layout: inventory.yaml, group_vars/all/project.yml with commented examples, .gitignore")
    .argument("<dir>", "a new or empty directory")
    .argument("[names...]", "prefix=NAME (default project) and instance=NAME (default staging), as for every other command")
    .addOption(new Option("--prefix <name>", "old spelling of prefix=NAME").hideHelp())
    .addOption(new Option("--instance <name>", "old spelling of instance=NAME").hideHelp())
    .addHelpText("after", "\nExample:\n  plc scaffold inventory prefix=yourproject instance=production\n  plc check -i inventory prefix=yourproject instance=production")
    .action((dir: string, names: string[], flags: { prefix?: string; instance?: string }) => run(() => scaffold(dir, names, flags)));
}
