// How ssh gets a key and the host keys in CI, as playlabs did: the inventory's `keys/<user>` (an
// Ansible Vault file or plain) or $SSH_PRIVATE_KEY, and $SSH_KNOWN_HOSTS or the inventory's
// `known_hosts`. A key never travels in argv: it is written to a 0600 file in a 0700 directory,
// removed when the ship ends, and ssh is given the file's path.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { displayPath, fail } from "../diagnostics.js";
import { readVaultPassword } from "../load/index.js";
import { decryptVault, isVaultText, VaultError } from "../load/vault.js";

export interface CredentialOptions {
  inventoryDir: string | undefined;
  /** The ssh user (-u, or the one user@host names): `keys/<user>` is looked up for it. */
  user: string | undefined;
  vaultPasswordFiles: string[];
  acceptNewHostKeys: boolean;
  /** --dry-run: say what would be used, write nothing. */
  isDryRun: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface Credentials {
  /** `-o KEY=VALUE` words ssh reads before plc's own checks. */
  options: string[];
  /** What was picked, for the user. */
  notes: string[];
  cleanup(): void;
}

export function prepareCredentials(options: CredentialOptions): Credentials {
  let dir: string | undefined;
  const temporary = (name: string, content: string): string => {
    if (options.isDryRun) return `<0600 temporary file: ${name}>`;
    dir ??= mkdtempSync(join(tmpdir(), "plc-ssh-"));
    const path = join(dir, name);
    writeFileSync(path, content.endsWith("\n") ? content : `${content}\n`, { mode: 0o600 });
    return path;
  };
  const result: string[] = [];
  const notes: string[] = [];
  const key = readKey(options);
  if (key !== undefined) {
    result.push(`IdentityFile=${temporary("key", key.content)}`);
    notes.push(`ssh key: ${key.from}`);
  }
  // ~/.ssh/known_hosts first: ssh writes keys it accepts (--accept-new-host-keys) to the first file.
  const knownHosts: string[] = [];
  const fromEnv = options.env["SSH_KNOWN_HOSTS"];
  if (fromEnv !== undefined && fromEnv.trim() !== "") knownHosts.push(temporary("known_hosts", fromEnv));
  const inventoryKnownHosts = options.inventoryDir === undefined ? undefined : join(options.inventoryDir, "known_hosts");
  if (inventoryKnownHosts !== undefined && existsSync(inventoryKnownHosts)) knownHosts.push(inventoryKnownHosts);
  if (knownHosts.length > 0) {
    result.push(`UserKnownHostsFile=~/.ssh/known_hosts ${knownHosts.join(" ")}`);
    notes.push(`host keys: ~/.ssh/known_hosts and ${[fromEnv !== undefined && fromEnv.trim() !== "" ? "$SSH_KNOWN_HOSTS" : "", inventoryKnownHosts !== undefined && existsSync(inventoryKnownHosts) ? displayPath(options.cwd, inventoryKnownHosts) : ""].filter(Boolean).join(" and ")}`);
  }
  if (options.acceptNewHostKeys) result.push("StrictHostKeyChecking=accept-new");
  return {
    options: result,
    notes,
    cleanup: () => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** playlabs' get_ssh_key: `keys/<user>` of the inventory, else $SSH_PRIVATE_KEY. */
function readKey(options: CredentialOptions): { content: string; from: string } | undefined {
  if (options.inventoryDir !== undefined && options.user !== undefined && /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(options.user)) {
    const file = join(options.inventoryDir, "keys", options.user);
    if (existsSync(file)) {
      const shown = displayPath(options.cwd, file);
      const text = readFileSync(file, "utf8");
      if (!isVaultText(text)) return { content: text, from: shown };
      try {
        return { content: decryptVault(text, options.vaultPasswordFiles.map(readVaultPassword)), from: `${shown} (decrypted)` };
      } catch (error) {
        if (!(error instanceof VaultError)) throw error;
        fail("vault-ssh-key", { file: shown, problem: error.message }, { origin: { kind: "file", file: shown, line: 1, col: 1 } });
      }
    }
  }
  const key = options.env["SSH_PRIVATE_KEY"];
  if (key !== undefined && key.trim() !== "") return { content: key, from: "$SSH_PRIVATE_KEY" };
  return undefined;
}
