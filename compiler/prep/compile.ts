// Gathers a prep bundle's inputs (inventory users, keys, signers, the offline repository) and
// chains render and pack. The commands (install, init, build --prep) call this.
import { existsSync, readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { join, resolve } from "node:path";
import { displayPath, fail } from "../diagnostics.js";
import { downloadAptRepository } from "./offline.js";
import { packPrep, renderPrep, type PackedPrep, type PrepBundle } from "./index.js";
import { packagesOf, type Role } from "./roles.js";
import { readSigners } from "./sign.js";
import { LOGIN_NAME, parseKeys, readPrepUsers } from "./users.js";

export interface PrepOptions {
  roles: Role[];
  inventory: string | undefined;
  /** The inventory host being prepared: its host_vars apply. */
  host: string | undefined;
  /** init: the login user (-u), else $USER. */
  user: string | undefined;
  /** init: the caller's public key file (--key), else ~/.ssh/id_ed25519.pub, id_ecdsa.pub, id_rsa.pub. */
  key: string | undefined;
  /** deploy: allowed signer public key files (--signer). */
  signers: string[];
  /** deploy: the deploy user's public key file (--deploy-key), else the inventory's keys/<deploy_user>.pub. */
  deployKey: string | undefined;
  sshPort: number;
  offline: boolean;
  aptCache: string | undefined;
  mtime: number;
  cwd: string;
}

export interface CompiledPrep {
  bundle: PrepBundle;
  packed: PackedPrep;
  /** init: the login user. */
  user: string | undefined;
  /** init: the private key beside --key, when there is one (the second connection uses it). */
  identityFile: string | undefined;
}

export function compilePrep(options: PrepOptions): CompiledPrep {
  const users = readPrepUsers(options.inventory === undefined ? undefined : resolve(options.cwd, options.inventory), options.host, options.cwd);
  let init: { user: string; keys: string[] } | undefined;
  let identityFile: string | undefined;
  if (options.roles.includes("init")) {
    const user = options.user ?? process.env["USER"] ?? userInfo().username;
    if (!LOGIN_NAME.test(user) || user === "root") {
      fail("invalid-login-user", { user }, { variable: "--user" });
    }
    const keyFile = options.key ?? ["id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"].map((name) => join(homedir(), ".ssh", name)).find((path) => existsSync(path));
    if (keyFile === undefined || !existsSync(keyFile)) {
      fail("no-public-key", { file: keyFile === undefined ? undefined : displayPath(options.cwd, keyFile) }, { variable: "--key" });
    }
    init = { user, keys: parseKeys(readFileSync(keyFile, "utf8"), displayPath(options.cwd, keyFile)) };
    if (init.keys.length === 0) fail("empty-key-file", { file: displayPath(options.cwd, keyFile) }, { variable: "--key" });
    const privateKey = keyFile.replace(/\.pub$/, "");
    identityFile = privateKey !== keyFile && existsSync(privateKey) ? privateKey : undefined;
  }
  const signers = readSigners(options.signers, options.cwd);
  if (options.roles.includes("deploy")) {
    if (signers.length === 0) {
      fail("no-signer", {}, { variable: "--signer" });
    }
    if (options.deployKey !== undefined) {
      if (!existsSync(options.deployKey)) fail("file-missing", { file: displayPath(options.cwd, options.deployKey) }, { variable: "--deploy-key" });
      users.deployKeys = parseKeys(readFileSync(options.deployKey, "utf8"), displayPath(options.cwd, options.deployKey));
    }
    if (users.deployKeys.length === 0) {
      fail("no-deploy-key", { user: users.deployUser }, { variable: "--deploy-key" });
    }
  }
  const bundle = renderPrep({
    roles: options.roles,
    users,
    init,
    signers,
    sshPort: options.sshPort,
    offline: options.offline ? downloadAptRepository(packagesOf(options.roles), options.aptCache) : undefined,
  });
  return { bundle, packed: packPrep(bundle, options.mtime), user: init?.user, identityFile };
}
