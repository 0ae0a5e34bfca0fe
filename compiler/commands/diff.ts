// `plc diff BUNDLE @host…`: what plc ship BUNDLE would change on hosts; deploys nothing.
import type { Command } from "commander";
import type { DiffOptions } from "../ship/diff.js";
import { loadOptions, type Run } from "./options.js";
import { withSshOptions } from "./ssh-options.js";

export function register(program: Command, run: Run): void {
  withSshOptions(
    program
      .command("diff")
      .description("what plc ship BUNDLE would change on hosts (files by sha256, image, plugins, secrets names); deploys nothing")
      .argument("<bundle>", "a tarball written by plc build")
      .argument("[hosts...]", "@host, user@host or user@host:port (default with -i: the hosts of the bundle's group)"),
  )
    .option("-i, --inventory <dir>", "inventory directory whose group <prefix>-<instance> lists the hosts")
    .addHelpText(
      "after",
      `
Exit status: 0 when every host runs this very bundle, 1 when one differs or cannot be compared
(no release installed, ssh failed), 2 for bad input. The diff goes to stdout, errors to stderr.
Examples:
  plc diff dist/ybs-hack-0123456789ab.tar.gz @staging
  plc diff dist/ybs-hack-0123456789ab.tar.gz deploy@10.0.0.5:2222 -J bastion
  plc diff dist/mrs-production-0123456789ab.tar.gz -i inventory`,
    )
    .action((bundle: string, hosts: string[], flags: DiffOptions) =>
      run(async () => {
        const { diff } = await import("../ship/diff.js");
        return diff(bundle, hosts, flags, loadOptions([], { inventory: flags.inventory }));
      }),
    );
}
