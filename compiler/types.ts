// The values that travel between plc's phases: load -> resolve -> validate -> render -> pack.

/** Where a value came from, kept from load to `plc explain` and every diagnostic. */
export type Origin =
  | { kind: "file"; file: string; line: number; col: number }
  | { kind: "argv"; index: number; text: string }
  | { kind: "default" }
  | { kind: "plugin"; plugin: string }
  | { kind: "image"; ref: string };

/** One variable as written somewhere: a path into the spec (`["env", "SECRET_KEY"]`) and its value. */
export interface Assignment {
  path: string[];
  value: unknown;
  origin: Origin;
  /** Vault values and anything the user marked secret. */
  isSecret: boolean;
  /** Set when the value was a Jinja template evaluated at build time. */
  template?: TemplateSource | undefined;
  /** Places an inventory layer of higher precedence replaced (Ansible's precedence, applied in load). */
  overrode?: Origin[] | undefined;
  /** `!unsafe`: never evaluated as a template (Ansible keeps it literal). */
  unsafe?: boolean | undefined;
}

/** What a templated value was written as, and where the variables it read came from. */
export interface TemplateSource {
  expression: string;
  inputs: { name: string; origin: Origin }[];
}

/** A group of an inventory: its place in the tree and its inline `vars:` (one layer per block). */
export interface InventoryGroup {
  name: string;
  parents: string[];
  children: string[];
  /** Longest path from `all` (Ansible sorts a host's groups by depth, then priority, then name). */
  depth: number;
  /** `ansible_group_priority`, 1 unless set. */
  priority: number;
  vars: Assignment[][];
}

/** The inventory sources (`-i`, in order), read: hosts, groups and every layer of variables, located. */
export interface Inventory {
  /** The first source's directory: where `passwords/`, `secrets/`, `keys/` and `.vault` are. */
  dir: string;
  /** Each source's directory, in -i order: group_vars/ and host_vars/ beside it. */
  dirs: string[];
  /** host name -> every group it is in, ancestors and `all` included, in inventory order. */
  hosts: Map<string, string[]>;
  groups: Map<string, InventoryGroup>;
  /** Variables written beside a host in the inventory files, one layer per place. */
  hostInline: Map<string, Assignment[][]>;
  /** Per source: group name -> one layer per vars file of group_vars/. */
  groupVars: Map<string, Assignment[][]>[];
  /** Per source: host name -> one layer per vars file of host_vars/. */
  hostVars: Map<string, Assignment[][]>[];
  /** The host the build is for (the `@host` named, or the deploy group's only host), if any. */
  host?: string | undefined;
  /** That host's variables after Ansible's precedence, templates evaluated: name -> its leaves. */
  variables?: Map<string, InventoryVariable>;
}

/** One top-level inventory variable as Ansible sees it for the host: the winning layer's leaves. */
export interface InventoryVariable {
  assignments: Assignment[];
  /** The places of the layers it replaced (dicts are replaced whole, Ansible's hash_behaviour=replace). */
  overrode: Origin[];
}

/** What `load` returns: the spec as given, before precedence. */
export interface WrittenSpec {
  argv: Assignment[];
  /** `@host`, `user@host`, `user@host:port` targets in argv order. */
  targets: Target[];
  inventory: Inventory | undefined;
  /** Image config read from an archive or a local docker, when available. */
  imageEnv: Map<string, string> | undefined;
  /** The `docker save` archive that travels in the bundle (air-gapped hosts). */
  imageArchive: FileOnDisk | undefined;
  /** The archive's RepoTags: what `docker load` names the image on the host. */
  imageTags: string[] | undefined;
  /** image.parts of the archive (load/image.ts), when it can travel layer by layer. */
  imageParts: string | undefined;
  /** Said when the image config could not be read (plc carries on with the plugins given). */
  imageNote: string | undefined;
  plugins: PluginDefinition[];
  /** `passwords/<name>` beside the inventory, by user name. */
  passwords: Map<string, PasswordFile>;
}

/** A user's password from `passwords/<name>` (playlabs' vaulted_password), or why it cannot be read. */
export interface PasswordFile {
  origin: Origin;
  /** Decrypted when a vault, stripped of surrounding whitespace as playlabs does. */
  value: string | undefined;
  /** Why there is no value; an error only for a user who needs the password. */
  problem: string | undefined;
}

export interface Target {
  user: string | undefined;
  host: string;
  port: number | undefined;
  origin: Origin;
}

/** A resolved value and the chain of places that set it (lowest precedence first). */
export interface ResolvedValue {
  value: unknown;
  origin: Origin;
  overrode: Origin[];
  isSecret: boolean;
  template?: TemplateSource | undefined;
}

/** What `resolve` returns: one merged object, still unvalidated, with provenance by JSON pointer. */
export interface ResolvedSpec {
  vars: Record<string, unknown>;
  /** JSON pointer (`/env/SECRET_KEY`) -> where it came from. */
  values: Map<string, ResolvedValue>;
  plugins: PluginDefinition[];
  imageArchive: FileOnDisk | undefined;
  imageTags: string[] | undefined;
  imageParts: string | undefined;
  /** Human-readable notes about plugin order changes. */
  notes: string[];
  passwords: Map<string, PasswordFile>;
}

/** One built-in or external plugin, as read from `plugins/<name>/`. */
export interface PluginDefinition {
  name: string;
  description: string;
  dir: string;
  after: string[];
  requires: string[];
  /** JSON Schema properties of the plugin's own variables. */
  variables: Record<string, unknown>;
  env: Record<string, string>;
  secretEnv: string[];
  /** Host commands the plugin's hooks need (checked by install.sh). */
  hostTools: string[];
  /** Bind mounts of the project container; targets may be templates over the variables. */
  mounts: { source: string; target: string }[];
  data: { path: string; owner: "root" | "image"; mode: string }[];
  /** Variables that must be given when the plugin is active. */
  required: string[];
  /** Variables whose values are secret (masked, digested as "<secret>"). */
  secretVariables: string[];
  /** Unprefixed inventory variables the plugin reads (playlabs' global `users`). */
  globals: string[];
  /** Plugin variable -> image config Env key that gives its default (UWSGI_SPOOLER_NAMES). */
  imageEnv: Record<string, string>;
  /** Secrets generated on the host on first deploy when the build gives none (`requiredFor`: instances that must give one). */
  hostSecrets: { key: string; requiredFor: string | undefined }[];
  /** `secrets.env.ejs`: extra secret assignments, kept out of the tarball like all secrets. */
  secretsTemplate: { file: string; source: string } | undefined;
  hooks: Map<HookName, { file: string; source: string }>;
  manifestFile: string;
  raw: Record<string, unknown>;
  /** The built-in plugin's folder this external plugin hides (same name), if any. */
  shadows?: string | undefined;
}

export const HOOK_NAMES = [
  "deploy.pre",
  "deploy.post",
  "backup.pre",
  "backup.post",
  "restore.pre",
  "restore.post",
] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export interface HtaccessUser {
  user: string;
  password: string;
}

export interface LftpTarget {
  scheme: "ftp" | "ftps" | "sftp";
  user: string | undefined;
  password: string | undefined;
  host: string;
  port: number | undefined;
  path: string;
}

export interface Retention {
  last: number;
  daily: number;
  weekly: number;
  monthly: number;
  yearly: number;
}

/** The validated spec: every field typed, defaults applied. Render reads only this. */
export interface Spec {
  prefix: string;
  instance: string;
  /** `<prefix>-<instance>`: container, network, unit and file names. */
  name: string;
  home: string;
  image: string;
  plugins: PluginDefinition[];
  /** Container environment, sorted by key. */
  env: EnvEntry[];
  dns: string[];
  dnsRedirect: string[];
  htaccess: HtaccessUser[];
  tls: TlsPlan;
  port: number;
  hostPort: number;
  healthcheckPath: string;
  healthcheckTimeout: number;
  /** Seconds `docker stop` waits after the stop signal. */
  stopTimeout: number;
  /** How a deploy replaces the running container; blue-green needs a vhost (dns). */
  deployStrategy: "recreate" | "blue-green";
  drainSeconds: number;
  /** Docker log driver (journald, as playlabs). */
  logDriver: "journald" | "json-file" | "local";
  /** json-file/local max-size and max-file of the container's stdout log. */
  logMaxSize: string;
  logMaxFile: number;
  logMount: string;
  /** Rotated files logrotate keeps of each <home>/log/*.log. */
  logRotate: number;
  /** Extra docker networks the container joins. */
  networks: string[];
  /** playlabs' HTTPS and Slack settings, passed on as given (HTTPS and notifications read them). */
  letsencryptEmail: string | undefined;
  letsencryptUri: string | undefined;
  slack: { token: string; channel: string | undefined; icon: string | undefined } | undefined;
  backupPassword: string | undefined;
  lftp: LftpTarget | undefined;
  retention: Retention;
  backupSchedule: string;
  pruneSchedule: string;
  releasesKept: number;
  /** Plugin mounts with their targets rendered. */
  mounts: { source: string; target: string }[];
  imageArchive: FileOnDisk | undefined;
  imageParts: string | undefined;
  /** Top-level variables holding secrets: masked in check/explain, out of the inputs digest. */
  secretVariables: string[];
  /** Env keys whose values the host generates once and keeps (`.host-secrets.env`). */
  hostSecretKeys: string[];
  vars: Record<string, unknown>;
  values: Map<string, ResolvedValue>;
  notes: string[];
  /** `passwords/<name>` beside the inventory, by user name (django superusers). */
  passwords: Map<string, PasswordFile>;
}

/** HTTPS of the vhost (compiler/tls): where its certificate comes from and what nginx may promise. */
export interface TlsPlan {
  mode: "off" | "acme" | "files" | "self-signed";
  /** dns, then dns_redirect: every name the certificate covers. */
  names: string[];
  /** The ACME directory URL (acme only), v1 URLs already mapped to v2. */
  directory: string | undefined;
  email: string | undefined;
  /** PEM roots uacme trusts for the directory's HTTPS, besides the system's. */
  caRoots: string | undefined;
  /** Browsers trust the certificate (not staging, not self-signed): only then HSTS. */
  isTrusted: boolean;
  /** 0: no Strict-Transport-Security header. */
  hstsMaxAge: number;
  /** tls=files: PEM texts, secrets (never in the tarball). */
  certificate: string | undefined;
  key: string | undefined;
}

export interface EnvEntry {
  key: string;
  value: string;
  isSecret: boolean;
}

/** A file of the bundle, as data: render's output and pack's input. */
export interface BundleFile {
  path: string;
  /** 0600 only for an embedded secrets.env. */
  mode: 0o600 | 0o644 | 0o755;
  content: string | Buffer;
}

/** A file's bytes left on disk, read in chunks when packed and written: an image archive may be gigabytes. */
export interface FileOnDisk {
  path: string;
  size: number;
}

/** A bundle file whose bytes stay on disk (image.tar). */
export interface StreamedFile {
  path: string;
  mode: 0o644;
  content: FileOnDisk;
}

export interface Bundle {
  /** `<prefix>-<instance>`: the tarball's root folder. */
  root: string;
  files: BundleFile[];
  /** Files packed from disk in chunks (the image archive). */
  streamed?: StreamedFile[];
  /** KEY=value lines (shell-quoted) kept out of the tarball unless embedded. */
  secrets: { key: string; value: string }[];
}

export interface PackedBundle {
  id: string;
  /** Every file of the tarball, MANIFEST.json and SHA256SUMS included, relative to the root folder. */
  files: BundleFile[];
  /** Files of the tarball whose bytes stay on disk. */
  streamed: StreamedFile[];
  /** The tar.gz in chunks, made anew by each call (files on disk are read again); pack's tgzBytes joins them. */
  tgz: () => Generator<Buffer>;
  /** Whether the tarball holds a file left on disk: then it is written in chunks, never held whole. */
  isStreamed: boolean;
  fileName: string;
  manifest: Manifest;
}

export interface Manifest {
  plc: string;
  id: string;
  project: string;
  instance: string;
  /** Where install.sh deploys: `/home/<prefix>-<instance>` unless `home` moved it. */
  home: string;
  image: string;
  plugins: string[];
  inputsDigest: string;
  secrets: string[];
  files: { path: string; mode: string; sha256: string }[];
}
