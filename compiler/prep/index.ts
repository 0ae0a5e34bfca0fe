// The host preparation phase: from chosen roles and the inventory's users to a prep bundle (POSIX sh,
// files to install, SHA256SUMS, an apt repository with --offline). Returns data and bytes; writes nothing.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import ejs from "ejs";
import { TEMPLATES_DIR } from "../paths.js";
import { encodeHeader, sumsText } from "../pack/index.js";
import { QUOTE_HELPERS } from "../render/quote.js";
import type { BundleFile } from "../types.js";
import { packagesOf, ROLE_PACKAGES, type Role } from "./roles.js";
import type { PrepUsers } from "./users.js";

export const PREP_ROOT = "plc-prep";
/** The namespace deploy bundles are signed in (ssh-keygen -Y sign -n): a signature made for anything else never passes. */
export const SIGNATURE_NAMESPACE = "plc-bundle";
/** The principal of every key in allowed_signers: plc-install verifies with -I plc. */
export const SIGNER_PRINCIPAL = "plc";

export interface PrepInput {
  roles: Role[];
  users: PrepUsers;
  /** init: the login user and the caller's public keys. */
  init: { user: string; keys: string[] } | undefined;
  /** deploy: public keys allowed to sign deploy bundles. */
  signers: string[];
  /** The ssh port the firewall keeps open. */
  sshPort: number;
  /** --offline: the .deb files and their Packages index, a flat apt repository under apt/. */
  offline: { debs: { name: string; content: Buffer }[]; packages: string } | undefined;
}

export interface PrepBundle {
  root: string;
  files: BundleFile[];
  packages: string[];
}

export interface PackedPrep {
  id: string;
  tgz: Buffer;
  fileName: string;
}

/** The prep bundle's files for the roles, in the order prep.sh runs them. */
export function renderPrep(input: PrepInput): PrepBundle {
  const files: BundleFile[] = [];
  const add = (path: string, content: string | Buffer, mode: BundleFile["mode"] = 0o644): void => {
    files.push({ path, mode, content });
  };
  const steps: string[] = input.roles.flatMap((role) => (role === "init" ? ["init", "lock"] : [role]));
  const users = input.users.users.map((user) => ({ ...user, hasSudoers: user.isSudoer || user.sudo.length > 0 }));
  const context = {
    steps,
    users,
    remove: input.users.remove,
    initUser: input.init?.user ?? "",
    deployUser: input.users.deployUser,
    rolePackages: ROLE_PACKAGES,
    dockerUsers: input.users.users.filter((user) => user.isDockerUser).map((user) => user.name),
  };
  add("prep.sh", template("prep.sh.ejs", context), 0o755);
  add("lib.sh", template("lib.sh.ejs", context));
  for (const step of steps) add(`roles/${step}.sh`, template(`${step}.sh.ejs`, context));
  if (steps.includes("lock") || steps.includes("ssh")) add("files/sshd/00-plc.conf", SSHD_DROPIN);
  if (input.init !== undefined) {
    add("files/keys/init.pub", lines(input.init.keys));
    add(`files/sudoers/plc-init-${input.init.user}`, lines([`# Written by plc init: ${input.init.user} administers this host.`, `${input.init.user} ALL=(ALL:ALL) NOPASSWD: ALL`]));
  }
  if (steps.includes("ssh")) {
    for (const user of users) {
      add(`files/keys/${user.name}.pub`, lines(user.keys));
      if (user.hasSudoers) add(`files/sudoers/plc-user-${user.name}`, sudoersOf(user.name, user.isSudoer, user.sudo));
    }
  }
  if (steps.includes("deploy")) {
    const deploy = input.users.deployUser;
    add(`files/keys/${deploy}.pub`, lines(input.users.deployKeys));
    add("files/plc/allowed_signers", lines(input.signers.map((key) => `${SIGNER_PRINCIPAL} namespaces="${SIGNATURE_NAMESPACE}" ${key}`)));
    add("files/plc/plc-install", template("plc-install.sh.ejs", context), 0o755);
    add(
      "files/sudoers/plc-deploy",
      lines([`# Written by plc install deploy: ${deploy} may install signed bundles, nothing else as root.`, `${deploy} ALL=(root) NOPASSWD: /usr/local/sbin/plc-install`]),
    );
  }
  if (steps.includes("docker")) add("files/docker/daemon.json", `${JSON.stringify({ "live-restore": true }, null, 2)}\n`);
  if (steps.includes("firewall")) {
    add("files/firewall/firewall.nft", firewallRules(input.sshPort));
    add("files/firewall/plc-firewall.service", FIREWALL_UNIT);
  }
  if (input.offline !== undefined) {
    for (const deb of input.offline.debs) add(`apt/${deb.name}`, deb.content);
    add("apt/Packages", input.offline.packages);
  }
  return { root: PREP_ROOT, files: files.sort((a, b) => compare(a.path, b.path)), packages: packagesOf(input.roles) };
}

function template(name: string, context: Record<string, unknown>): string {
  const file = join(TEMPLATES_DIR, "prep", name);
  return ejs.render(readFileSync(file, "utf8"), { ...QUOTE_HELPERS, ...context }, {
    async: false,
    filename: file,
    strict: true,
    _with: false,
    destructuredLocals: [...Object.keys(QUOTE_HELPERS), ...Object.keys(context)],
    escape: () => {
      throw new Error("<%= is forbidden: quote with a helper and <%-");
    },
  } as ejs.Options & { async: false });
}

function lines(list: readonly string[]): string {
  return list.map((line) => `${line}\n`).join("");
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const SSHD_DROPIN = lines([
  "# Written by plc (plc init, plc install ssh). sshd keeps the first value it reads, and 00- sorts",
  "# before cloud-init's 50-cloud-init.conf: these win. Keys only; root only with a key.",
  "PasswordAuthentication no",
  "KbdInteractiveAuthentication no",
  "PermitRootLogin prohibit-password",
]);

function sudoersOf(name: string, isSudoer: boolean, commands: readonly string[]): string {
  const rules = isSudoer ? [`${name} ALL=(ALL:ALL) NOPASSWD: ALL`] : [];
  if (commands.length > 0) rules.push(`${name} ALL=(root) NOPASSWD: ${commands.join(", ")}`);
  return lines([`# Written by plc install ssh from the inventory's users (${isSudoer ? "roles.ssh: sudo" : "sudo:"}).`, ...rules]);
}

/** plc's own table: created, emptied by deleting it, then filled; other tables (docker's) are never touched. */
function firewallRules(sshPort: number): string {
  const ports = [...new Set([sshPort, 22, 80, 443])].sort((a, b) => a - b).join(", ");
  return lines([
    "#!/usr/sbin/nft -f",
    "# Written by plc install firewall. Its own table: never `flush ruleset`, which would wipe docker's rules.",
    "table inet plc",
    "delete table inet plc",
    "table inet plc {",
    "  chain input {",
    "    type filter hook input priority filter; policy drop;",
    "    ct state established,related accept",
    "    ct state invalid drop",
    '    iifname "lo" accept',
    "    meta l4proto { icmp, ipv6-icmp } accept",
    `    tcp dport { ${ports} } accept`,
    "  }",
    "}",
  ]);
}

const FIREWALL_UNIT = lines([
  "# Written by plc install firewall: plc's nftables table at boot, before the network is up.",
  "[Unit]",
  "Description=plc firewall (nftables table inet plc)",
  "Wants=network-pre.target",
  "Before=network-pre.target",
  "DefaultDependencies=no",
  "",
  "[Service]",
  "Type=oneshot",
  "RemainAfterExit=yes",
  "ExecStart=/usr/sbin/nft -f /etc/plc/firewall.nft",
  "ExecStop=/usr/sbin/nft delete table inet plc",
  "",
  "[Install]",
  "WantedBy=sysinit.target",
]);

/** A deterministic tar.gz of the prep bundle with SHA256SUMS; the id is the sha256 of SHA256SUMS. */
export function packPrep(bundle: PrepBundle, mtime: number): PackedPrep {
  const hashes = bundle.files.map((file) => ({ path: file.path, sha256: createHash("sha256").update(file.content).digest("hex") }));
  const sums: BundleFile = { path: "SHA256SUMS", mode: 0o644, content: sumsText(hashes) };
  const all = [...bundle.files, sums].sort((a, b) => compare(a.path, b.path));
  const directories = new Set<string>([bundle.root]);
  for (const file of all) {
    const parts = file.path.split("/").slice(0, -1);
    parts.forEach((_, index) => directories.add(`${bundle.root}/${parts.slice(0, index + 1).join("/")}`));
  }
  const entries: { path: string; bytes: Buffer[] }[] = [];
  for (const dir of directories) entries.push({ path: `${dir}/`, bytes: encodeHeader({ path: `${dir}/`, mode: 0o755, size: 0, mtime, type: "Directory" }) });
  for (const file of all) {
    const content = Buffer.from(file.content);
    const path = `${bundle.root}/${file.path}`;
    entries.push({ path, bytes: [...encodeHeader({ path, mode: file.mode, size: content.length, mtime, type: "File" }), content, Buffer.alloc((512 - (content.length % 512)) % 512)] });
  }
  entries.sort((a, b) => compare(a.path, b.path));
  const tar = Buffer.concat([...entries.flatMap((entry) => entry.bytes), Buffer.alloc(1024)]);
  const id = createHash("sha256").update(sums.content).digest("hex");
  // .debs are compressed already: level 1 packs an offline bundle in a fraction of level 6's time for the same size.
  const isOffline = bundle.files.some((file) => file.path.startsWith("apt/"));
  return { id, tgz: gzipSync(tar, { level: isOffline ? 1 : 6 }), fileName: `${bundle.root}-${id.slice(0, 12)}.tar.gz` };
}
