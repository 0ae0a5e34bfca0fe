// -F, -o and -J, spelled as ssh spells them: every command that connects (ship, diff) takes them.
import type { Command } from "commander";
import { collect } from "./options.js";

/** `withUser: false` where -u means something else (plc init/install: the user to create). */
export function withSshOptions(command: Command, { withUser = true } = {}): Command {
  if (withUser) command.option("-u, --user <name>", "the ssh user of hosts given without one (as playlabs -u; user@host names it per host)");
  return command
    .option("-F, --ssh-config <file>", "ssh configuration file (as ssh -F)")
    .option("-o, --ssh-option <key=value>", "an ssh option (as ssh -o, repeatable)", collect, [])
    .option("-J, --jump <host>", "reach the hosts through this jump host (as ssh -J)");
}
