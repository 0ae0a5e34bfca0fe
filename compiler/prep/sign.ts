// Deploy bundle signatures: ssh-keygen -Y sign with a key the user gives; the host's plc-install
// verifies them with -Y verify against the allowed signers `plc install deploy` put there.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { displayPath, fail } from "../diagnostics.js";
import { SIGNATURE_NAMESPACE } from "./index.js";
import { parseKeys } from "./users.js";

/** Writes BUNDLE.sig beside the bundle; returns its path. */
export function signBundle(bundle: string, key: string, cwd: string): string {
  if (!existsSync(bundle)) fail("file-missing", { file: displayPath(cwd, bundle), fix: "give a .tar.gz written by plc build" }, { variable: "BUNDLE" });
  if (!existsSync(key)) fail("file-missing", { what: "signing key", file: displayPath(cwd, key), fix: "an ssh private key (ssh-keygen -t ed25519 -f plc-signing)" }, { variable: "--key" });
  const signature = `${bundle}.sig`;
  // ssh-keygen refuses to replace a signature: a stale one would otherwise stand beside a new bundle.
  rmSync(signature, { force: true });
  const result = spawnSync("ssh-keygen", ["-q", "-Y", "sign", "-f", key, "-n", SIGNATURE_NAMESPACE, bundle], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (result.status !== 0 || !existsSync(signature)) {
    fail("sign-failed", { problem: (result.stderr || result.error?.message || "").trim() }, { variable: "--key" });
  }
  return signature;
}

/** The public keys of `--signer FILE` options (each an ssh .pub file). */
export function readSigners(files: readonly string[], cwd: string): string[] {
  return files.flatMap((file) => {
    if (!existsSync(file)) fail("file-missing", { what: "signer key", file: displayPath(cwd, file), fix: "the .pub of the key plc sign uses" }, { variable: "--signer" });
    return parseKeys(readFileSync(file, "utf8"), displayPath(cwd, file));
  });
}
