// `plc build`: compile and write dist/<prefix>-<instance>-<id>.tar.gz (+ .secrets.env, + .run).
import type { Command } from "commander";
import { loadOptions, packOptions, withLocalImage, withSpecOptions, type Run, type SpecOptions } from "./options.js";

interface BuildFlags extends SpecOptions {
  outDir: string;
  embedSecrets?: boolean;
  selfExtracting?: boolean;
}

export function register(program: Command, run: Run): void {
  withSpecOptions(program.command("build"))
    .description("compile the bundle: dist/<prefix>-<instance>-<id>.tar.gz (+ .secrets.env, mode 0600)")
    .option("-o, --out-dir <dir>", "where to write the tarball", "dist")
    .option("--embed-secrets", "put secrets inside the tarball (never for a public release)")
    .option("--self-extracting", "also write <name>.run: one executable file that checks its payload and installs itself")
    .action((operands: string[], flags: BuildFlags) =>
      run(() =>
        withLocalImage(loadOptions(operands, flags), async (loaded) => {
          const { writeBuild } = await import("../write.js");
          const built = writeBuild(await loaded(), packOptions(), flags);
          for (const note of built.notes) process.stderr.write(`note: ${note}\n`);
          for (const path of built.paths) process.stdout.write(`${path}\n`);
          process.stderr.write(`${built.summary}\n`);
        }),
      ),
    );
}
