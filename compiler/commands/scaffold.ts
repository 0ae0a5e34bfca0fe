// `plc scaffold DIR` (playlabs' name) and `plc init`: DIR scaffolds as before, with a note;
// user@host prepares a host for its first use.
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { displayPath } from "../diagnostics.js";
import { initInventory, type InitOptions } from "../init.js";
import { withPrepOptions, type PrepCommandOptions } from "../prep/command-helpers.js";
import { readSshSettings, withSshOptions, type SshOptions } from "../ship/command.js";

interface Helpers {
  run(action: () => void): void;
  runAsync(action: () => Promise<number | undefined>): Promise<void>;
}

function scaffold(dir: string, options: InitOptions): void {
  const written = initInventory(dir, options, process.cwd());
  for (const path of written) process.stdout.write(`${path}\n`);
  const shown = displayPath(process.cwd(), resolve(dir));
  process.stderr.write(
    `next: set the image in ${join(shown, "group_vars/all/project.yml")} and the hosts in ${join(shown, "inventory.yaml")}, then plc check -i ${shown} prefix=${options.prefix} instance=${options.instance}\n`,
  );
}

/** A host operand: `@host` or `user@host[:port]`; anything else is a directory to scaffold. */
function isHost(text: string): boolean {
  return text.includes("@");
}

export function registerScaffoldCommands(program: Command, helpers: Helpers): void {
  program
    .command("scaffold")
    .description("a new inventory in playlabs layout: inventory.yaml, group_vars/all/project.yml with commented examples, .gitignore")
    .argument("<dir>", "a new or empty directory")
    .option("--prefix <name>", "project name, first half of <prefix>-<instance>", "project")
    .option("--instance <name>", "instance name (staging, production, a branch)", "staging")
    .addHelpText("after", "\nExample:\n  plc scaffold inventory --prefix yourproject --instance production\n  plc check -i inventory prefix=yourproject instance=production")
    .action((dir: string, options: InitOptions) => {
      helpers.run(() => {
        scaffold(dir, options);
      });
    });

  withPrepOptions(withSshOptions(program.command("init")))
    .description("user@host: first contact (a sudo user with your key, then password login off); DIR: plc scaffold DIR")
    .argument("<target>", "user@host[:port] to prepare, or a new directory to scaffold (as plc scaffold)")
    .option("--check", "user@host: print what would change; change nothing")
    .option("--prefix <name>", "DIR: project name", "project")
    .option("--instance <name>", "DIR: instance name", "staging")
    .addHelpText(
      "after",
      `
Examples:
  plc init root@203.0.113.7 -o StrictHostKeyChecking=accept-new    # creates $USER with your key
  plc init admin@203.0.113.7 -u deployer --key ~/.ssh/id_ed25519.pub
  plc install ssh,docker,firewall,nginx @203.0.113.7

Password login goes off only after plc has logged in again as the new user with the key alone.`,
    )
    .action(async (target: string, options: PrepCommandOptions & SshOptions & InitOptions & { check?: boolean }) => {
      if (!isHost(target)) {
        helpers.run(() => {
          process.stderr.write(`note: plc init DIR is plc scaffold DIR now (playlabs' name); plc init user@host prepares a host\n`);
          scaffold(target, options);
        });
        return;
      }
      await helpers.runAsync(async () => {
        const { initHost } = await import("../prep/install.js");
        await initHost(target, options, readSshSettings(options, !process.stdin.isTTY));
        return undefined;
      });
    });
}
