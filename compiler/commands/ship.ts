// `plc ship`: BUNDLE @host…, or @host vars… to build first, or -i DIR for the group's hosts.
import type { Command } from "commander";
import type { ShipOptions } from "../ship/index.js";
import { loadOptions, packOptions, withSpecOptions, type Run } from "./options.js";
import { withSshOptions } from "./ssh-options.js";

export function register(program: Command, run: Run): void {
  withSshOptions(
    withSpecOptions(program.command("ship")).description(
      "deploy to hosts, one ssh connection each: BUNDLE @host…, or @host vars… to build first, or -i DIR for the group's hosts",
    ),
  )
    .option("--parallel <n>", "hosts shipped to at once (without --batch)", "1")
    .option("--batch <n|n%>", "roll out batch after batch of this many hosts (or percent of them), the first host alone before them")
    .option("--no-canary", "with --batch: no first host alone")
    .option("--max-failures <k>", "with --batch: failed hosts tolerated; one more stops the rollout after its batch", "0")
    .option("--secrets <file>", "secrets file to send (default: the *.secrets.env beside BUNDLE)")
    .option("--check", "run install.sh --check on the hosts: prerequisites, checksums, secrets; change nothing")
    .option("--dry-run", "print what would run on each host; connect to none")
    .option("--full-image", "send the bundle's image.tar whole, even the layers the host's docker already has")
    .option(
      "--accept-new-host-keys",
      "trust a host's key on first contact and remember it (ssh StrictHostKeyChecking=accept-new); a changed key is still refused. " +
        "Convenient for a CI runner with no known_hosts, but the first connection to each host can then be intercepted: prefer $SSH_KNOWN_HOSTS or known_hosts in the inventory",
    )
    .addHelpText(
      "after",
      `
Examples:
  plc ship dist/ybs-hack-0123456789ab.tar.gz @staging
  plc ship dist/ybs-hack-0123456789ab.tar.gz deploy@10.0.0.5:2222 -J bastion
  plc ship @staging image=registry/app:sha prefix=ybs instance=hack
  plc ship -i inventory prefix=mrs instance=production --parallel 2
  plc ship -i inventory prefix=mrs instance=production --batch 25% --max-failures 1
A rollout opens at most 10 connections at once: sshd's MaxStartups default, which a jump host
applies to all of them. ssh's own ControlMaster settings, when your config has them, are used as they are.
Host keys are checked against known_hosts (plus $SSH_KNOWN_HOSTS and the inventory's known_hosts);
the ssh key may come from the inventory's keys/<user> (vault-encrypted or not) or $SSH_PRIVATE_KEY,
written to a 0600 temporary file for the ship. A user that is not root needs sudo without a password.
playlabs' forms work too: plc @host deploy …, plc deploy @host …, -e name=value, -u USER, --limit HOST.`,
    )
    .action((operands: string[], flags: ShipOptions) =>
      run(async () => {
        const { ship } = await import("../ship/index.js");
        await ship(operands, flags, loadOptions(operands, flags), packOptions());
      }),
    );
}
