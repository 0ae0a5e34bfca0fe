// `plc install ROLES @host…`: prepares hosts (playlabs' install), one ssh connection each.
import type { Command } from "commander";
import type { PrepCommandOptions } from "../prep/command-helpers.js";
import { withPrepOptions } from "./prep-options.js";
import type { SshOptions } from "../ship/ssh.js";
import type { Run } from "./options.js";
import { withSshOptions } from "./ssh-options.js";

export type InstallOptions = PrepCommandOptions & SshOptions & { check?: boolean };

export function register(program: Command, run: Run): void {
  // -u is the user plc init creates here, not the ssh user (user@host names that).
  withPrepOptions(withSshOptions(program.command("install"), { withUser: false }))
    .description("prepare hosts: ssh (inventory users), deploy (signed bundles only), docker, firewall, nginx; idempotent")
    .argument("<roles>", "comma-separated: init, ssh, deploy, docker, firewall, nginx")
    .argument("<hosts...>", "@host, user@host, user@host:port, or @name of an inventory host")
    .option("--check", "print what would change on each host; change nothing")
    .addHelpText(
      "after",
      `
Examples:
  plc install ssh,docker,firewall,nginx @somehost -i inventory
  plc install deploy @somehost -i inventory --signer ~/.ssh/plc-signing.pub
  plc install ssh @somehost -i inventory --check

The login user is root or has sudo without a password (plc init user@host makes one).`,
    )
    .action((roles: string, hosts: string[], options: InstallOptions) =>
      run(async () => {
        const [{ installRoles }, { readSshSettings }] = await Promise.all([import("../prep/install.js"), import("../ship/ssh.js")]);
        // -u here is the user plc init creates; the ssh user is each target's.
        await installRoles(roles, hosts, options, readSshSettings({ ...options, user: undefined }, !process.stdin.isTTY || hosts.length > 1));
      }),
    );
}
