// `plc sign BUNDLE --key KEY`: BUNDLE.sig, which the host's plc-install verifies before installing.
import { resolve } from "node:path";
import type { Command } from "commander";
import type { Run } from "./options.js";

export function register(program: Command, run: Run): void {
  program
    .command("sign")
    .description("sign a bundle for hosts whose deploy user may only install signed bundles (plc install deploy): writes BUNDLE.sig")
    .argument("<bundle>", "a .tar.gz written by plc build")
    .requiredOption("-k, --key <file>", "the ssh private key whose .pub was given to plc install deploy --signer")
    .addHelpText("after", "\nExample:\n  plc sign dist/ybs-hack-<id>.tar.gz --key ~/.ssh/plc-signing\n  plc ship dist/ybs-hack-<id>.tar.gz deploy@somehost")
    .action((bundle: string, options: { key: string }) =>
      run(async () => {
        const { signBundle } = await import("../prep/sign.js");
        process.stdout.write(`${signBundle(resolve(bundle), resolve(options.key), process.cwd())}\n`);
      }),
    );
}
