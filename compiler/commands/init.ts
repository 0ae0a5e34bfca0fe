// `plc init user@host`: a host's first contact (compiler/prep); `plc init DIR prefix=… instance=…`:
// a new inventory in playlabs layout, which `plc scaffold DIR` (playlabs' name) also makes.
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { fail } from "../diagnostics.js";
import type { PrepCommandOptions } from "../prep/command-helpers.js";
import { withPrepOptions } from "./prep-options.js";
import type { SshOptions } from "../ship/ssh.js";
import type { Run } from "./options.js";
import { withSshOptions } from "./ssh-options.js";

interface InitFlags {
  /** Before 0.2 the names were flags; kept for scripts, with a note. */
  prefix?: string;
  instance?: string;
}

/** A host operand: `@host` or `user@host[:port]`; anything else is a directory to scaffold. */
function isHost(text: string): boolean {
  return text.includes("@");
}

export function register(program: Command, run: Run): void {
  withPrepOptions(withSshOptions(program.command("init"), { withUser: false }))
    .description("user@host: first contact (a sudo user with your key, then password login off); DIR: plc scaffold DIR")
    .argument("<target>", "user@host[:port] to prepare, or a new directory to scaffold (as plc scaffold)")
    .argument("[names...]", "DIR: prefix=NAME (default project) and instance=NAME (default staging), as for every other command")
    .option("--check", "user@host: print what would change; change nothing")
    .addOption(new Option("--prefix <name>", "old spelling of prefix=NAME").hideHelp())
    .addOption(new Option("--instance <name>", "old spelling of instance=NAME").hideHelp())
    .addHelpText(
      "after",
      `
Examples:
  plc init root@203.0.113.7 -o StrictHostKeyChecking=accept-new    # creates $USER with your key
  plc init admin@203.0.113.7 -u deployer --key ~/.ssh/id_ed25519.pub
  plc install ssh,docker,firewall,nginx @203.0.113.7
  plc init inventory prefix=yourproject instance=production         # as plc scaffold

Password login goes off only after plc has logged in again as the new user with the key alone.`,
    )
    .action((target: string, names: string[], flags: InitFlags & PrepCommandOptions & SshOptions & { check?: boolean }) =>
      run(async () => {
        if (isHost(target)) {
          const [{ initHost }, { readSshSettings }] = await Promise.all([import("../prep/install.js"), import("../ship/ssh.js")]);
          // -u here is the user to create; the ssh user is the target's.
          await initHost(target, flags, readSshSettings({ ...flags, user: undefined }, !process.stdin.isTTY));
          return;
        }
        process.stderr.write("note: plc init DIR is plc scaffold DIR now (playlabs' name); plc init user@host prepares a host\n");
        await scaffold(target, names, flags);
      }),
    );
}

/** `plc scaffold DIR prefix=… instance=…` (and `plc init DIR`): writes the inventory, says what next. */
export async function scaffold(dir: string, names: readonly string[], flags: InitFlags): Promise<void> {
  const raw = process.argv.slice(2);
  const words: Partial<Record<"prefix" | "instance", number>> = {};
  const given: Partial<Record<"prefix" | "instance", string>> = {};
  for (const word of names) {
    const index = raw.indexOf(word);
    const match = /^(prefix|instance)=(.*)$/s.exec(word);
    if (match === null) {
      fail("init-operand", { word }, { origin: { kind: "argv", index: index < 0 ? 2 : index, text: word } });
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
}
