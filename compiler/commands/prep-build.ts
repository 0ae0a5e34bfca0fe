// `plc build --prep ROLES [--offline]`: a prep bundle to carry to a host (`sudo sh prep.sh` there).
// It rides on plc build's command: these options and a hook that runs before build's own action.
import type { Command } from "commander";
import type { PrepCommandOptions } from "../prep/command-helpers.js";
import { withPrepOptions } from "./prep-options.js";
import type { Run } from "./options.js";

interface PrepBuildOptions extends Omit<PrepCommandOptions, "inventory"> {
  /** build's -i, repeatable there: a prep bundle reads the first. */
  inventory?: string[] | string;
  prep?: string;
  outDir: string;
}

export function register(program: Command, run: Run): void {
  const build = program.commands.find((command) => command.name() === "build");
  if (build === undefined) throw new Error("plc build must be registered before its --prep options");
  withPrepOptions(build, true)
    .option("--prep <roles>", "build a host preparation bundle instead: ssh, deploy, docker, firewall, nginx (init: plc init)")
    .option("--offline", "with --prep: the .deb closure of every package inside, as a flat apt repository (air-gapped hosts)")
    .option("--apt-cache <dir>", "with --offline: keep downloaded .debs here between builds")
    .hook("preAction", async (command) => {
      const options = command.opts<PrepBuildOptions>();
      if (options.prep === undefined && options.offline !== true) return;
      await run(async () => {
        // Loaded lazily like every command: a plain plc build never reads the prep modules.
        const { buildPrepBundle } = await import("../prep/build.js");
        const inventory = Array.isArray(options.inventory) ? options.inventory[0] : options.inventory;
        buildPrepBundle(options.prep, command.args, { ...options, inventory });
      });
      // build's own action must not run after a prep bundle.
      process.exit(process.exitCode ?? 0);
    });
}
