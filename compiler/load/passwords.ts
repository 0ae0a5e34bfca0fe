// playlabs' `passwords/<name>` files beside the inventory (its `vaulted_password` filter): one
// user's password each, an Ansible Vault file or plain text.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { displayPath } from "../diagnostics.js";
import type { PasswordFile } from "../types.js";
import { decryptVault, isVaultText, VaultError, type VaultSecret } from "./vault.js";

const UTF8 = new TextDecoder("utf-8", { fatal: true });
// playlabs strips what `ansible-vault view` prints; the trailing newline of `echo pw >file` goes too.
const EDGE_SPACE = /^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g;

/**
 * Every file of `<inventory>/passwords/`, by user name. A file that cannot be opened is kept with
 * its problem: it only matters for a user who needs it (the vault password may be for another instance).
 */
export function readPasswords(inventoryDir: string, secrets: readonly VaultSecret[], cwd: string): Map<string, PasswordFile> {
  const dir = join(inventoryDir, "passwords");
  const passwords = new Map<string, PasswordFile>();
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return passwords;
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name);
    if (!statSync(file).isFile()) continue;
    const origin = { kind: "file" as const, file: displayPath(cwd, file), line: 1, col: 1 };
    let text: string;
    try {
      text = UTF8.decode(readFileSync(file));
    } catch {
      passwords.set(name, { origin, value: undefined, problem: "the file is not valid UTF-8" });
      continue;
    }
    if (isVaultText(text)) {
      try {
        text = decryptVault(text, secrets);
      } catch (error) {
        if (!(error instanceof VaultError)) throw error;
        passwords.set(name, { origin, value: undefined, problem: `cannot decrypt it: ${error.message}` });
        continue;
      }
    }
    passwords.set(name, { origin, value: text.replace(EDGE_SPACE, ""), problem: undefined });
  }
  return passwords;
}
