// Phase 4, render: EJS templates produce the bundle's files as data. Logic here, layout in templates.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Script } from "node:vm";
import ejs from "ejs";
import { diagnostic, PlcError } from "../diagnostics.js";
import { TEMPLATES_DIR } from "../paths.js";
import type { Bundle, BundleFile, HookName, Spec } from "../types.js";
import { hashHtpasswd } from "./htpasswd.js";
import { QUOTE_HELPERS, unquoteSh } from "./quote.js";

/** A rendered plugin hook: where it lives in the bundle and which plugin it belongs to. */
export interface HookFile {
  plugin: string;
  hook: HookName;
  path: string;
}

/** Everything a template may read. Values still need a quote helper to reach output. */
export interface RenderContext {
  spec: Spec;
  backups: boolean;
  hasVhost: boolean;
  network: string;
  /** Env keys passed to the container by name (`-e KEY`). */
  envKeys: string[];
  publicEnv: { key: string; value: string }[];
  secretKeys: string[];
  hooks: (hook: HookName) => HookFile[];
  lftpCommands: { push: string[]; fetch: string } | undefined;
  healthUrl: string;
  units: { backupService: string; backupTimer: string; pruneService: string; pruneTimer: string };
  vhostFile: string;
  requiredTools: string[];
  dataDirs: { path: string; owner: "root" | "image"; mode: string }[];
  mounts: { source: string; target: string }[];
  /** Inventory users whose roles name this instance (`<prefix>-<instance>`). */
  superusers: { name: string; email: string | undefined; password: string | undefined }[];
}

const SECRET_BACKUP_PASSWORD = "PLC_BACKUP_PASSWORD";
const SECRET_LFTP_PASSWORD = "PLC_LFTP_PASSWORD";

/** Renders every file of the bundle for a validated spec. */
export function renderBundle(spec: Spec): Bundle {
  // Plugin secrets are rendered first: their keys go to secrets.keys and install.sh.
  const extraSecrets = pluginSecrets(spec, buildContext(spec, []));
  const context = buildContext(spec, extraSecrets.map((secret) => secret.key));
  const files: BundleFile[] = [];
  const script = (path: string, template: string): void => {
    files.push({ path, mode: 0o755, content: renderTemplate(template, context) });
  };
  const text = (path: string, template: string): void => {
    files.push({ path, mode: 0o644, content: renderTemplate(template, context) });
  };

  script("install.sh", "install.sh.ejs");
  script("docker-run.sh", "docker-run.sh.ejs");
  script("uninstall.sh", "uninstall.sh.ejs");
  text("env", "env.ejs");
  text("secrets.keys", "secrets.keys.ejs");
  text(`logrotate/${spec.name}`, "logrotate.ejs");
  if (context.backups) {
    script("backup.sh", "backup.sh.ejs");
    script("restore.sh", "restore.sh.ejs");
    script("prune.sh", "prune.sh.ejs");
    text(`systemd/${context.units.backupService}`, "backup.service.ejs");
    text(`systemd/${context.units.backupTimer}`, "backup.timer.ejs");
    text(`systemd/${context.units.pruneService}`, "prune.service.ejs");
    text(`systemd/${context.units.pruneTimer}`, "prune.timer.ejs");
  }
  if (context.hasVhost) {
    text(`nginx/${context.vhostFile}`, "vhost.conf.ejs");
    if (spec.htaccess.length > 0) {
      files.push({
        path: "nginx/htpasswd",
        mode: 0o644,
        content: spec.htaccess.map((entry) => `${entry.user}:${hashHtpasswd(entry.user, entry.password)}\n`).join(""),
      });
    }
  }
  if (spec.imageArchive !== undefined) files.push({ path: "image.tar", mode: 0o644, content: spec.imageArchive });
  for (const [index, plugin] of spec.plugins.entries()) {
    for (const [hook, { file, source }] of plugin.hooks) {
      files.push({
        path: hookPath(index, plugin.name, hook),
        mode: 0o644,
        content: hookHeader(plugin.name, hook) + renderSource(source, file, { ...context, plugin: plugin.name }),
      });
    }
  }

  const secrets = [
    ...spec.env.filter((entry) => entry.isSecret).map((entry) => ({ key: entry.key, value: entry.value })),
    ...extraSecrets,
    ...(spec.backupPassword === undefined ? [] : [{ key: SECRET_BACKUP_PASSWORD, value: spec.backupPassword }]),
    ...(spec.lftp?.password === undefined ? [] : [{ key: SECRET_LFTP_PASSWORD, value: spec.lftp.password }]),
  ];
  return { root: spec.name, files: files.sort((a, b) => compare(a.path, b.path)), secrets };
}

/** A plugin's secrets.env.ejs renders `KEY='value'` lines (through shAssign) that stay out of the tarball. */
function pluginSecrets(spec: Spec, context: RenderContext): { key: string; value: string }[] {
  const secrets: { key: string; value: string }[] = [];
  for (const plugin of spec.plugins) {
    if (plugin.secretsTemplate === undefined) continue;
    const text = renderSource(plugin.secretsTemplate.source, plugin.secretsTemplate.file, { ...context, plugin: plugin.name });
    const assignments = shAssignments(text);
    if (assignments === undefined) {
      throw new PlcError([
        diagnostic("template-error", `${plugin.secretsTemplate.file}: every line must be a shAssign(KEY, value) call`, {
          origin: { kind: "file", file: plugin.secretsTemplate.file, line: 1, col: 1 },
        }),
      ]);
    }
    secrets.push(...assignments);
  }
  return secrets;
}

/**
 * The assignments of shAssign() lines, blank lines aside; undefined for anything else. A quoted value may
 * hold newlines (a password may), so the text is read word by word, not line by line.
 */
function shAssignments(text: string): { key: string; value: string }[] | undefined {
  const found: { key: string; value: string }[] = [];
  const blank = /[ \t]*(?:\n|$)/y;
  const assignment = /([A-Za-z_][A-Za-z0-9_]*)=([A-Za-z0-9_@%+=:,./-]+|'[^']*'(?:\\''[^']*')*)(?:\n|$)/y;
  let at = 0;
  while (at < text.length) {
    blank.lastIndex = at;
    if (blank.test(text)) {
      at = blank.lastIndex;
      continue;
    }
    assignment.lastIndex = at;
    const match = assignment.exec(text);
    const value = match?.[2] === undefined ? undefined : unquoteSh(match[2]);
    if (match?.[1] === undefined || value === undefined) return undefined;
    found.push({ key: match[1], value });
    at = assignment.lastIndex;
  }
  return found;
}

/** playlabs' users: roles is a list of instance names or a map of instance name -> role. */
function superusersOf(spec: Spec): RenderContext["superusers"] {
  const users = Array.isArray(spec.vars["users"]) ? (spec.vars["users"] as Record<string, unknown>[]) : [];
  const names = [spec.name, `${spec.prefix}_${spec.instance}`];
  return users
    .filter((user) => {
      const roles = user["roles"];
      if (Array.isArray(roles)) return roles.some((role) => names.includes(String(role)));
      if (typeof roles === "object" && roles !== null) return names.some((name) => name in roles);
      return false;
    })
    .map((user) => ({
      name: String(user["name"]),
      email: typeof user["email"] === "string" ? user["email"] : undefined,
      password: typeof user["password"] === "string" ? user["password"] : undefined,
    }));
}

const HOOK_CALLERS: Record<HookName, string> = {
  "deploy.pre": "install.sh",
  "deploy.post": "install.sh",
  "backup.pre": "backup.sh",
  "backup.post": "backup.sh",
  "restore.pre": "restore.sh",
  "restore.post": "restore.sh",
};

/** Hooks are fragments: $home, $name, say and die come from the script that sources them. */
function hookHeader(plugin: string, hook: HookName): string {
  return `# ${hook} hook of plugin ${plugin}, sourced by ${HOOK_CALLERS[hook]} in a subshell.\n# shellcheck shell=sh disable=SC2154\n`;
}

function hookPath(index: number, plugin: string, hook: HookName): string {
  return `hooks/${String(index + 1).padStart(2, "0")}-${plugin}/${hook}.sh`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function buildContext(spec: Spec, pluginSecretKeys: readonly string[]): RenderContext {
  const backups = spec.backupPassword !== undefined;
  const hasVhost = spec.dns.length > 0;
  const hookFiles = spec.plugins.flatMap((plugin, index) =>
    [...plugin.hooks.keys()].map((hook) => ({ plugin: plugin.name, hook, path: hookPath(index, plugin.name, hook) })),
  );
  const secretKeys = [
    ...spec.env.filter((entry) => entry.isSecret).map((entry) => entry.key),
    ...pluginSecretKeys,
    ...(backups ? [SECRET_BACKUP_PASSWORD] : []),
    ...(spec.lftp?.password === undefined ? [] : [SECRET_LFTP_PASSWORD]),
  ];
  const requiredTools = ["tar", "gzip", "sha256sum", "flock", "docker", "systemctl", "curl"];
  if (backups) requiredTools.push("restic");
  if (spec.lftp) requiredTools.push("lftp");
  if (hasVhost) requiredTools.push("nginx");
  return {
    spec,
    backups,
    hasVhost,
    network: spec.name,
    envKeys: [...spec.env.map((entry) => entry.key), ...spec.hostSecretKeys],
    publicEnv: spec.env.filter((entry) => !entry.isSecret).map(({ key, value }) => ({ key, value })),
    secretKeys,
    // Post hooks run in reverse plugin order: teardown mirrors setup.
    hooks: (hook) => {
      const found = hookFiles.filter((file) => file.hook === hook);
      return hook.endsWith(".post") ? found.reverse() : found;
    },
    lftpCommands: spec.lftp === undefined ? undefined : lftpCommands(spec, spec.lftp),
    healthUrl: `http://127.0.0.1:${spec.hostPort}${spec.healthcheckPath}`,
    units: {
      backupService: `backup-${spec.name}.service`,
      backupTimer: `backup-${spec.name}.timer`,
      pruneService: `prune-${spec.name}.service`,
      pruneTimer: `prune-${spec.name}.timer`,
    },
    vhostFile: `${spec.dns[0] ?? spec.name}.conf`,
    requiredTools,
    dataDirs: [{ path: "log", owner: "image" as const, mode: "0755" }, ...spec.plugins.flatMap((plugin) => plugin.data)],
    mounts: [{ source: "log", target: spec.logMount }, ...spec.mounts],
    superusers: superusersOf(spec),
  };
}

/** lftp command strings: values were validated against lftp's command language (formats.ts). */
function lftpCommands(spec: Spec, lftp: NonNullable<Spec["lftp"]>): { push: string[]; fetch: string } {
  const open = [
    "set cmd:fail-exit yes",
    "set net:max-retries 3",
    "set sftp:auto-confirm no",
    `open${lftp.password === undefined ? "" : " --env-password"}${lftp.user === undefined ? "" : ` -u ${lftp.user}`}${lftp.port === undefined ? "" : ` -p ${lftp.port}`} ${lftp.scheme}://${lftp.host}`,
  ].join("; ");
  const repository = `${spec.home}/restic`;
  const remote = lftp.path;
  // Data and index first, snapshots last: a cut mirror never holds a snapshot whose packs are missing.
  return {
    push: [
      `${open}; mkdir -p -f ${remote}; mirror --reverse --no-perms --exclude ^locks/ --exclude ^snapshots/ --exclude ^config$ --exclude ^keys/ ${repository} ${remote}`,
      `${open}; mirror --reverse --no-perms --delete --exclude ^locks/ ${repository} ${remote}`,
    ],
    fetch: `${open}; mirror --no-perms --exclude ^locks/ ${remote} ${repository}`,
  };
}

function renderTemplate(name: string, context: RenderContext): string {
  const file = join(TEMPLATES_DIR, name);
  // With cache, EJS compiles from the file by name: the source is read only the first time.
  return renderSource(ejs.cache.get(file) === undefined ? readFileSync(file, "utf8") : "", file, context);
}

const LOCALS = [
  ...Object.keys(QUOTE_HELPERS),
  "spec",
  "backups",
  "hasVhost",
  "network",
  "envKeys",
  "publicEnv",
  "secretKeys",
  "hooks",
  "lftpCommands",
  "healthUrl",
  "units",
  "vhostFile",
  "requiredTools",
  "dataDirs",
  "mounts",
  "superusers",
  "plugin",
];

function renderSource(source: string, file: string, context: RenderContext & { plugin?: string }): string {
  try {
    return ejs.render(source, { ...QUOTE_HELPERS, plugin: undefined, ...context }, {
      async: false,
      filename: file,
      // Compiled templates are kept by file name: plc's and plugins' templates do not change while it runs.
      cache: true,
      strict: true,
      _with: false,
      destructuredLocals: LOCALS,
      escape: (value: unknown) => {
        throw new Error(`<%= is forbidden: quote ${String(value)} with a helper (sh, unitValue, nginx…) and <%-`);
      },
    } as ejs.Options & { async: false });
  } catch (error) {
    throw new PlcError([
      diagnostic("template-error", `cannot render ${file}: ${(error as Error).message.split("\n").find((l) => l.trim() !== "" && !/^\s*\d+\|/.test(l) && !l.startsWith(">>")) ?? "error"}`, {
        origin: { kind: "file", file, line: lineOf(error, source), col: 1 },
        hint: "fix the template; values reach output only through a quoting helper",
      }),
    ]);
  }
}

/**
 * The template line of an error. EJS gives it for errors while rendering; a syntax error has none,
 * so each output tag's expression is compiled alone to find the first that does not parse.
 */
function lineOf(error: unknown, source: string): number {
  const match = /:(\d+)\n/.exec((error as Error).message);
  if (match) return Number(match[1]);
  for (const tag of source.matchAll(/<%[-=]([\s\S]*?)-?%>/g)) {
    try {
      // Parsed only, never run.
      new Script(`(${tag[1] ?? ""});`);
    } catch {
      return source.slice(0, tag.index).split("\n").length;
    }
  }
  return 1;
}
