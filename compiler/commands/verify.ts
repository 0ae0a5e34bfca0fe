// `plc verify BUNDLE`: structure, MANIFEST.json, SHA256SUMS and id; prints what it deploys.
import type { Command } from "commander";
import type { Run } from "./options.js";

export function register(program: Command, run: Run): void {
  program
    .command("verify")
    .description("check a bundle's structure, MANIFEST.json and SHA256SUMS; print what it deploys")
    .argument("<bundle>", "a .tar.gz written by plc build")
    .action((file: string) =>
      run(async () => {
        const [{ verifyBundleFile, formatVerified }, { PlcError }] = await Promise.all([import("../verify.js"), import("../diagnostics.js")]);
        const { manifest, problems } = verifyBundleFile(file, process.cwd());
        if (problems.length > 0) throw new PlcError(problems);
        if (manifest === undefined) return;
        process.stdout.write(formatVerified(manifest));
        process.stderr.write("ok: checksums, manifest and id verified\n");
      }),
    );
}
