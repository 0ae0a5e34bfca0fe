// `plc install ROLES @host…`: prepares hosts (playlabs' install), one ssh connection each.
import type { Command } from "commander";
import { withPrepOptions, type PrepCommandOptions } from "../prep/command-helpers.js";
import { readSshSettings, withSshOptions, type SshOptions } from "../ship/command.js";

export type InstallOptions = PrepCommandOptions & SshOptions & { check?: boolean };

export function registerInstallCommand(program: Command, helpers: { runAsync(action: () => Promise<number | undefined>): Promise<void> }): void {
  withPrepOptions(withSshOptions(program.command("install")))
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
    .action(async (roles: string, hosts: string[], options: InstallOptions) => {
      await helpers.runAsync(async () => {
        const { installRoles } = await import("../prep/install.js");
        await installRoles(roles, hosts, options, readSshSettings(options, !process.stdin.isTTY || hosts.length > 1));
        return undefined;
      });
    });
}
