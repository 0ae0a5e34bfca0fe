// `plc build --prep ROLES [--offline]`: a prep bundle to carry to a host (`sudo sh prep.sh` there).
// It rides on plc build's command: these options and a hook that runs before build's own action.
import type { Command } from "commander";
import { withPrepOptions, type PrepCommandOptions } from "../prep/command-helpers.js";

interface PrepBuildOptions extends PrepCommandOptions {
  prep?: string;
  outDir: string;
}

export function registerPrepBuild(program: Command, helpers: { run(action: () => void): void }): void {
  const build = program.commands.find((command) => command.name() === "build");
  if (build === undefined) throw new Error("plc build must be registered before its --prep options");
  withPrepOptions(build, true)
    .option("--prep <roles>", "build a host preparation bundle instead: ssh, deploy, docker, firewall, nginx (init: plc init)")
    .option("--offline", "with --prep: the .deb closure of every package inside, as a flat apt repository (air-gapped hosts)")
    .option("--apt-cache <dir>", "with --offline: keep downloaded .debs here between builds")
    .hook("preAction", async (command) => {
      const options = command.opts<PrepBuildOptions>();
      if (options.prep === undefined && options.offline !== true) return;
      // Loaded lazily like every command: a plain plc build never reads the prep modules.
      const { buildPrepBundle } = await import("../prep/build.js");
      helpers.run(() => {
        buildPrepBundle(options.prep, command.args, options);
      });
      // build's own action must not run after a prep bundle.
      process.exit(process.exitCode ?? 0);
    });
}
