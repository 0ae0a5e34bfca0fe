// `plc init DIR prefix=… instance=…`: a new inventory in playlabs layout.
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { fail } from "../diagnostics.js";
import type { Run } from "./options.js";

interface InitFlags {
  /** Before 0.2 the names were flags; kept for scripts, with a note. */
  prefix?: string;
  instance?: string;
}

export function register(program: Command, run: Run): void {
  program
    .command("init")
    .description("scaffold an inventory in playlabs layout: inventory.yaml, group_vars/all/project.yml with commented examples, .gitignore")
    .argument("<dir>", "a new or empty directory")
    .argument("[names...]", "prefix=NAME (default project) and instance=NAME (default staging), as for every other command")
    .addOption(new Option("--prefix <name>", "old spelling of prefix=NAME").hideHelp())
    .addOption(new Option("--instance <name>", "old spelling of instance=NAME").hideHelp())
    .addHelpText(
      "after",
      `
Example:
  plc init inventory prefix=yourproject instance=production
  plc check -i inventory prefix=yourproject instance=production`,
    )
    .action((dir: string, names: string[], flags: InitFlags) =>
      run(async () => {
        const raw = process.argv.slice(2);
        const words: Partial<Record<"prefix" | "instance", number>> = {};
        const given: Partial<Record<"prefix" | "instance", string>> = {};
        for (const word of names) {
          const index = raw.indexOf(word);
          const match = /^(prefix|instance)=(.*)$/s.exec(word);
          if (match === null) {
            fail("invalid-argument", `'${word}' is not a name plc init takes`, {
              origin: { kind: "argv", index: index < 0 ? 2 : index, text: word },
              hint: "give prefix=NAME and instance=NAME; set other variables in group_vars/all/project.yml",
            });
          }
          const name = match[1] as "prefix" | "instance";
          given[name] = match[2] ?? "";
          words[name] = index < 0 ? 2 : index;
        }
        for (const name of ["prefix", "instance"] as const) {
          const flag = flags[name];
          if (flag === undefined || given[name] !== undefined) continue;
          process.stderr.write(`note: plc init --${name} ${flag} is now ${name}=${flag}, as for every other command\n`);
          given[name] = flag;
        }
        const options = { prefix: given.prefix ?? "project", instance: given.instance ?? "staging", words };
        const [{ initInventory }, { displayPath }] = await Promise.all([import("../init.js"), import("../diagnostics.js")]);
        for (const path of initInventory(dir, options, process.cwd())) process.stdout.write(`${path}\n`);
        const shown = displayPath(process.cwd(), resolve(dir));
        process.stderr.write(
          `next: set the image in ${join(shown, "group_vars/all/project.yml")} and the hosts in ${join(shown, "inventory.yaml")}, then plc check -i ${shown} prefix=${options.prefix} instance=${options.instance}\n`,
        );
      }),
    );
}
