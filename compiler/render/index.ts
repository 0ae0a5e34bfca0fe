// Phase 4, render: EJS templates produce the bundle's files as data. Logic here, layout in templates.
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { createRequire } from "node:module";
import { Script } from "node:vm";
import type { Options } from "ejs";
import { diagnostic, fail, PlcError } from "../diagnostics.js";
import { TEMPLATES_DIR } from "../paths.js";
import type { Bundle, BundleFile, HookName, Origin, Spec, StreamedFile } from "../types.js";
import { isCompiled, renderCompiled } from "./compiled-templates.js";
import { hashHtpasswd } from "./htpasswd.js";
import { planBlueGreen, planInstall, type BlueGreen, type HookFile, type InstallPlan } from "./install-plan.js";
import { QUOTE_HELPERS, shAssign, unquoteSh, type QuoteHelpers } from "./quote.js";
import { hostNotify, type HostNotify } from "../notify/host.js";
import { notifyConfigText, notifyOfSpec, notifySecretEntries, NOTIFY_CONFIG_FILE } from "../notify/settings.js";

export type { HookFile } from "./install-plan.js";

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
  lftpCommands: LftpCommands | undefined;
  healthUrl: string;
  units: { backupService: string; backupTimer: string; pruneService: string; pruneTimer: string; tlsService: string; tlsTimer: string };
  /** tls is not off: install.sh runs tls.sh. */
  hasTls: boolean;
  /** Which vhost vhost.conf.ejs renders: plain HTTP, or HTTPS in the listen form of nginx < 1.25.1 or >= 1.25.1. */
  vhost: { https: boolean; http2Directive: boolean };
  vhostFile: string;
  requiredTools: string[];
  dataDirs: { path: string; owner: "root" | "image"; mode: string }[];
  mounts: { source: string; target: string }[];
  /** Inventory users who are superusers of this instance (superusersOf); password undefined: none given. */
  superusers: { name: string; email: string | undefined; password: string | undefined }[];
  /** What notify.sh and its unit need; undefined when no target is set (no notify.sh then). */
  notify: HostNotify | undefined;
  /** install.sh's steps and what they need. */
  install: InstallPlan;
  /** deploy_strategy blue-green (docker-run.sh, the vhost and install.sh read it); undefined: recreate. */
  blueGreen: BlueGreen | undefined;
  /** What the vhost's proxy_pass names: the container's port, or blue-green's upstream. */
  proxyPass: string;
}

const SECRET_BACKUP_PASSWORD = "PLC_BACKUP_PASSWORD";
const SECRET_LFTP_PASSWORD = "PLC_LFTP_PASSWORD";
const SECRET_TLS_CERTIFICATE = "PLC_TLS_CERTIFICATE";
const SECRET_TLS_KEY = "PLC_TLS_KEY";

/** Renders every file of the bundle for a validated spec. */
export function renderBundle(spec: Spec): Bundle {
  // Plugin secrets are rendered first: their keys go to secrets.keys and install.sh.
  const first = buildContext(spec);
  const extraSecrets = pluginSecrets(spec, first);
  // The same context but for the plugins' secret keys: nothing else in it depends on them. plc's own
  // templates only read it; an external plugin's secrets template may have written to it (EJS copies the
  // data, not what it holds), so the context is then made anew.
  const isContextUntouched = spec.plugins.every((plugin) => plugin.secretsTemplate === undefined || isCompiled(plugin.secretsTemplate.file));
  const base = isContextUntouched ? first : buildContext(spec);
  const context = extraSecrets.length === 0 ? base : { ...base, secretKeys: secretKeysOf(spec, extraSecrets.map((secret) => secret.key)) };
  const data = templateData(context, undefined);
  const files: BundleFile[] = [];
  const script = (path: string, template: string): void => {
    files.push({ path, mode: 0o755, content: renderTemplate(template, data) });
  };
  const text = (path: string, template: string): void => {
    files.push({ path, mode: 0o644, content: renderTemplate(template, data) });
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
  const notify = notifyOfSpec(spec);
  if (notify !== undefined && context.notify !== undefined) {
    script("notify.sh", "notify.sh.ejs");
    text(`systemd/${context.notify.unit}`, "notify.service.ejs");
    files.push({ path: NOTIFY_CONFIG_FILE, mode: 0o644, content: notifyConfigText(notify.config) });
  }
  if (context.hasVhost) {
    text(`nginx/${context.vhostFile}`, "vhost.conf.ejs");
    if (context.hasTls) {
      // Every variant is in the bundle: whether a certificate exists and which nginx runs is known only on the host.
      for (const [dir, http2Directive] of [["https", false], ["https-http2-on", true]] as const) {
        files.push({ path: `nginx/${dir}/${context.vhostFile}`, mode: 0o644, content: renderTemplate("vhost.conf.ejs", { ...data, vhost: { https: true, http2Directive } }) });
      }
      script("tls.sh", "tls.sh.ejs");
      if (spec.tls.mode === "acme") {
        script("tls-hook.sh", "tls-hook.sh.ejs");
        text(`systemd/${context.units.tlsService}`, "tls.service.ejs");
        text(`systemd/${context.units.tlsTimer}`, "tls.timer.ejs");
      }
      if (spec.tls.caRoots !== undefined) files.push({ path: "tls/ca-roots.pem", mode: 0o644, content: spec.tls.caRoots });
    }
    if (spec.htaccess.length > 0) {
      files.push({
        path: "nginx/htpasswd",
        mode: 0o644,
        content: spec.htaccess.map((entry) => `${entry.user}:${hashHtpasswd(entry.user, entry.password)}\n`).join(""),
      });
    }
  }
  // The archive's files by content address: plc ship sends only the layers the host lacks, install.sh checks them.
  if (spec.imageArchive !== undefined && spec.imageParts !== undefined) files.push({ path: "image.parts", mode: 0o644, content: spec.imageParts });
  for (const [index, plugin] of spec.plugins.entries()) {
    const pluginData = templateData(context, plugin.name);
    for (const [hook, { file, source }] of plugin.hooks) {
      files.push({
        path: hookPath(index, plugin.name, hook),
        mode: 0o644,
        content: hookHeader(plugin.name, hook) + renderSource(source, file, pluginData),
      });
    }
  }

  const secrets = [
    ...spec.env.filter((entry) => entry.isSecret).map((entry) => ({ key: entry.key, value: entry.value })),
    ...extraSecrets,
    ...(spec.backupPassword === undefined ? [] : [{ key: SECRET_BACKUP_PASSWORD, value: spec.backupPassword }]),
    ...(spec.lftp?.password === undefined ? [] : [{ key: SECRET_LFTP_PASSWORD, value: spec.lftp.password }]),
    ...(spec.tls.certificate === undefined ? [] : [{ key: SECRET_TLS_CERTIFICATE, value: spec.tls.certificate }]),
    ...(spec.tls.key === undefined ? [] : [{ key: SECRET_TLS_KEY, value: spec.tls.key }]),
    ...(notify === undefined ? [] : notifySecretEntries(notify.secrets)),
  ];
  // The image archive stays on disk: pack reads it in chunks.
  const streamed: StreamedFile[] = spec.imageArchive === undefined ? [] : [{ path: "image.tar", mode: 0o644, content: spec.imageArchive }];
  return { root: spec.name, files: files.sort((a, b) => compare(a.path, b.path)), streamed, secrets };
}

/** A plugin's secrets.env.ejs renders `KEY='value'` lines (through shAssign) that stay out of the tarball. */
function pluginSecrets(spec: Spec, context: RenderContext): { key: string; value: string }[] {
  const secrets: { key: string; value: string }[] = [];
  for (const plugin of spec.plugins) {
    if (plugin.secretsTemplate === undefined) continue;
    const text = renderSource(plugin.secretsTemplate.source, plugin.secretsTemplate.file, templateData(context, plugin.name));
    for (const line of text.split("\n").filter((l) => l.trim() !== "")) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(line);
      const value = match?.[2] === undefined ? undefined : unquoteSh(match[2]);
      if (match?.[1] === undefined || value === undefined || shAssign(match[1], value) !== line) {
        throw new PlcError([
          diagnostic("secrets-template-line", { file: plugin.secretsTemplate.file }, { origin: { kind: "file", file: plugin.secretsTemplate.file, line: 1, col: 1 } }),
        ]);
      }
      secrets.push({ key: match[1], value });
    }
  }
  return secrets;
}

/**
 * playlabs' superusers of `<prefix>-<instance>`: `roles: {<instance>: [superuser]}` or
 * `roles: {superuser: [<instance>, …]}`. Another role keyed by the instance (readonly) is not one,
 * nor is a list of instance names (`roles: [<instance>]`): playlabs reads roles as a map only.
 * The password comes from `passwords/<name>` beside the inventory, else the user's `password`.
 */
function superusersOf(spec: Spec): RenderContext["superusers"] {
  const users = Array.isArray(spec.vars["users"]) ? (spec.vars["users"] as Record<string, unknown>[]) : [];
  const superusers: RenderContext["superusers"] = [];
  for (const [index, user] of users.entries()) {
    if (!isSuperuserOf(user["roles"], spec.name)) continue;
    const name = String(user["name"]);
    superusers.push({
      name,
      email: typeof user["email"] === "string" ? user["email"] : undefined,
      password: passwordOf(spec, name, user["password"], index),
    });
  }
  return superusers;
}

function isSuperuserOf(roles: unknown, instance: string): boolean {
  if (typeof roles !== "object" || roles === null || Array.isArray(roles)) return false;
  const record = roles as Record<string, unknown>;
  return names(record[instance], "superuser") || names(record["superuser"], instance);
}

/** A role value names `name`: a list holding it, the string itself, or a map keyed by it. */
function names(value: unknown, name: string): boolean {
  if (Array.isArray(value)) return value.some((item) => item === name);
  if (typeof value === "object" && value !== null) return name in value;
  return value === name;
}

/** An empty password is none: the user's current password stays. */
function passwordOf(spec: Spec, name: string, given: unknown, index: number): string | undefined {
  const file = spec.passwords.get(name);
  if (file?.problem !== undefined) {
    fail("superuser-password", { name, problem: file.problem }, { origin: file.origin, variable: `passwords/${name}` });
  }
  const [password, variable, origin] =
    file?.value !== undefined
      ? [file.value, `passwords/${name}`, file.origin]
      : [typeof given === "string" ? given : "", `users[${index}].password`, originOf(spec, `/users/${index}/password`)];
  if (/[\r\n]/.test(password)) {
    fail("superuser-password-line-break", { name, variable }, { origin, variable });
  }
  return password === "" ? undefined : password;
}

/** Where a value, or the closest value holding it, was written. */
function originOf(spec: Spec, pointer: string): Origin | undefined {
  for (let candidate = pointer; candidate !== ""; candidate = candidate.slice(0, candidate.lastIndexOf("/"))) {
    const found = spec.values.get(candidate);
    if (found) return found.origin;
  }
  return undefined;
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

/** The keys of secrets.keys and install.sh: the env's secrets, the plugins' (from their secrets.env.ejs), plc's own. */
function secretKeysOf(spec: Spec, pluginSecretKeys: readonly string[]): string[] {
  const notify = notifyOfSpec(spec);
  return [
    ...spec.env.filter((entry) => entry.isSecret).map((entry) => entry.key),
    ...pluginSecretKeys,
    ...(spec.backupPassword !== undefined ? [SECRET_BACKUP_PASSWORD] : []),
    ...(spec.lftp?.password === undefined ? [] : [SECRET_LFTP_PASSWORD]),
    ...(spec.tls.certificate === undefined ? [] : [SECRET_TLS_CERTIFICATE]),
    ...(spec.tls.key === undefined ? [] : [SECRET_TLS_KEY]),
    ...(notify === undefined ? [] : notifySecretEntries(notify.secrets).map((entry) => entry.key)),
  ];
}

/** The context before the plugins' secrets are rendered (they read it): their keys are not in secretKeys yet. */
function buildContext(spec: Spec): RenderContext {
  const notify = notifyOfSpec(spec);
  const backups = spec.backupPassword !== undefined;
  const hasVhost = spec.dns.length > 0;
  const hookFiles = spec.plugins.flatMap((plugin, index) =>
    [...plugin.hooks.keys()].map((hook) => ({ plugin: plugin.name, hook, path: hookPath(index, plugin.name, hook) })),
  );
  const secretKeys = secretKeysOf(spec, []);
  // setsid detaches the deploy from the caller's session; stat checks owners before root reads a file.
  const requiredTools = ["tar", "gzip", "sha256sum", "flock", "setsid", "stat", "docker", "systemctl", "curl"];
  if (backups) requiredTools.push("restic");
  if (spec.lftp) requiredTools.push("lftp");
  // nginx: asked for by install.sh once it knows the web front (install/front.sh.ejs), after nginx-proxy's check.
  const hasTls = hasVhost && spec.tls.mode !== "off";
  if (hasTls) requiredTools.push("openssl");
  if (spec.tls.mode === "acme") requiredTools.push("uacme", "od");
  if (spec.tls.caRoots !== undefined) requiredTools.push("unshare", "mount");
  for (const tool of spec.plugins.flatMap((plugin) => plugin.hostTools)) if (!requiredTools.includes(tool)) requiredTools.push(tool);
  // Post hooks run in reverse plugin order: teardown mirrors setup.
  const hooks = (hook: HookName): HookFile[] => {
    const found = hookFiles.filter((file) => file.hook === hook);
    return hook.endsWith(".post") ? found.reverse() : found;
  };
  // A file name for any valid first name (`*.example.com`, `::1`): the characters a bundle path may not hold
  // become `_`. No host name has one, so `_.example.com.conf` cannot meet another vhost's file.
  const vhostFile = `${(spec.dns[0] ?? spec.name).replace(/[^A-Za-z0-9._-]/g, "_")}.conf`;
  const dataDirs = [{ path: "log", owner: "image" as const, mode: "0755" }, ...spec.plugins.flatMap((plugin) => plugin.data)];
  const blueGreen = planBlueGreen(spec);
  return {
    spec,
    backups,
    hasVhost,
    network: spec.name,
    envKeys: [...spec.env.map((entry) => entry.key), ...spec.hostSecretKeys],
    publicEnv: spec.env.filter((entry) => !entry.isSecret).map(({ key, value }) => ({ key, value })),
    secretKeys,
    hooks,
    lftpCommands: spec.lftp === undefined ? undefined : lftpCommands(spec, spec.lftp),
    healthUrl: `http://127.0.0.1:${spec.hostPort}${spec.healthcheckPath}`,
    units: {
      backupService: `backup-${spec.name}.service`,
      backupTimer: `backup-${spec.name}.timer`,
      pruneService: `prune-${spec.name}.service`,
      pruneTimer: `prune-${spec.name}.timer`,
      tlsService: `tls-${spec.name}.service`,
      tlsTimer: `tls-${spec.name}.timer`,
    },
    hasTls,
    vhost: { https: false, http2Directive: false },
    vhostFile,
    requiredTools,
    dataDirs,
    mounts: [{ source: "log", target: spec.logMount }, ...spec.mounts],
    superusers: superusersOf(spec),
    notify: notify === undefined ? undefined : hostNotify(spec.name, notify.config),
    install: planInstall({ spec, backups, vhostFile: hasVhost ? vhostFile : undefined, dataDirs, hooks, blueGreen }),
    blueGreen,
    proxyPass: blueGreen === undefined ? `http://127.0.0.1:${spec.hostPort}` : `http://${blueGreen.upstream.name}`,
  };
}

/** The lftp scripts of the mirror (`lftp -c`), and where the repository lives there. */
export interface LftpCommands {
  /** `sftp://user@host:port/path/<name>/restic`, for messages (never the password). */
  label: string;
  /** Makes the mirror's folder, lists it, and copies its config, keys/ (and snapshots/) to `<home>/.mirror`. */
  probe: string;
  probeSnapshots: string;
  /** The whole repository from the mirror; `fetchMissing` only the files the local one lacks. */
  fetch: string;
  fetchMissing: string;
  /** Adds the local repository's files to the mirror; `pushPruned` then removes what a local prune removed. */
  push: string;
  pushPruned: string;
}

/** lftp command strings: values were validated against lftp's command language (formats.ts). */
function lftpCommands(spec: Spec, lftp: NonNullable<Spec["lftp"]>): LftpCommands {
  const open = [
    "set cmd:fail-exit yes",
    "set net:max-retries 3",
    "set sftp:auto-confirm no",
    `open${lftp.password === undefined ? "" : " --env-password"}${lftp.user === undefined ? "" : ` -u ${lftp.user}`}${lftp.port === undefined ? "" : ` -p ${lftp.port}`} ${lftp.scheme}://${lftp.host}`,
  ].join("; ");
  const repository = `${spec.home}/restic`;
  const probed = `${spec.home}/.mirror`;
  // playlabs' layout (`mkdir -p <name>; mirror -R <home>/restic <name>/restic`): one folder per instance under the
  // DSN path, or under the login directory when the DSN has none. Nothing outside that folder is ever touched.
  const remote = `${lftp.path === "/" ? "" : `${lftp.path.replace(/\/+$/, "")}/`}${spec.name}/restic`;
  const mirror = "mirror --no-perms --exclude ^locks/";
  const put = "mirror --reverse --no-perms";
  // Data and index first, snapshots last: a cut mirror never holds a snapshot whose packs are missing.
  const push = [
    `${open}; mkdir -p -f ${remote}`,
    `${put} --exclude ^locks/ --exclude ^snapshots/ --exclude ^config$ --exclude ^keys/ ${repository} ${remote}`,
    `${put} --exclude ^locks/ ${repository} ${remote}`,
  ].join("; ");
  const probe = `${open}; mkdir -p -f ${remote}; cls -1 ${remote}/; ${mirror} --exclude ^data/ --exclude ^index/`;
  const port = lftp.port === undefined ? "" : `:${lftp.port}`;
  return {
    label: `${lftp.scheme}://${lftp.user === undefined ? "" : `${lftp.user}@`}${lftp.host}${port}${remote.startsWith("/") ? "" : "/~/"}${remote}`,
    probe: `${probe} --exclude ^snapshots/ ${remote} ${probed}`,
    probeSnapshots: `${probe} ${remote} ${probed}`,
    fetch: `${open}; ${mirror} ${remote} ${repository}`,
    fetchMissing: `${open}; ${mirror} --only-missing ${remote} ${repository}`,
    push,
    // Removal in the order restic itself removes: snapshots, then the index, then the packs they no longer need.
    pushPruned: [
      push,
      ...["snapshots", "index", "data"].map((dir) => `${put} --delete ${repository}/${dir} ${remote}/${dir}`),
    ].join("; "),
  };
}

/** A template's file by name: kept, a bundle renders thirty. */
const templateFiles = new Map<string, string>();

function renderTemplate(name: string, data: TemplateData): string {
  let file = templateFiles.get(name);
  if (file === undefined) templateFiles.set(name, (file = join(TEMPLATES_DIR, name)));
  // Compiled at build time: no file read. Without the build step, EJS reads and compiles it once.
  return renderSource(isCompiled(file) || ejs?.cache.get(file) !== undefined ? "" : readFileSync(file, "utf8"), file, data);
}

type Ejs = typeof import("ejs");
let ejs: Ejs | undefined;

/** EJS itself, for an external plugin's template only: plc's own are compiled at build time. */
function loadEjs(): Ejs {
  ejs ??= createRequire(import.meta.url)("ejs") as Ejs;
  return ejs;
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
  "hasTls",
  "vhost",
  "notify",
  "install",
  "blueGreen",
  "proxyPass",
  "plugin",
];

/** The EJS options of every bundle template; scripts/build.ts compiles plc's own with them. */
export const RENDER_EJS_OPTIONS = { async: false, strict: true, _with: false, destructuredLocals: LOCALS } as const;

function escapeRefused(value: unknown): string {
  // EJS also escapes the template's own file name when it reports an error raised while rendering.
  if (typeof value === "string" && isAbsolute(value) && value.endsWith(".ejs") && existsSync(value)) return value;
  throw new Error(`<%= is forbidden: quote ${String(value)} with a helper (sh, unitValue, nginx…) and <%-`);
}

/** What a template reads: the context, the quote helpers, and the plugin whose hook it is. */
type TemplateData = RenderContext & QuoteHelpers & { plugin: string | undefined };

/**
 * Made once per bundle (and plugin), not per template: a spread of some thirty keys cost more than
 * rendering most templates. Templates never write to it (compiled ones read their LOCALS; EJS copies it).
 */
function templateData(context: RenderContext, plugin: string | undefined): TemplateData {
  return Object.assign({}, QUOTE_HELPERS, context, { plugin });
}

function renderSource(source: string, file: string, data: TemplateData): string {
  try {
    if (isCompiled(file)) return renderCompiled(file, data, escapeRefused);
    return loadEjs().render(source, data, {
      ...RENDER_EJS_OPTIONS,
      destructuredLocals: [...LOCALS],
      filename: file,
      // Compiled templates are kept by file name: plc's and plugins' templates do not change while it runs.
      cache: true,
      escape: escapeRefused,
    } as Options & { async: false });
  } catch (error) {
    // An error while rendering comes as "<file>:<line>\n<excerpt>\n\n" once per include level, then
    // the message: the innermost template and line are where it was raised.
    const message = (error as Error).message;
    const raisedAt = [...message.matchAll(/^(\/.*\.ejs):(\d+)$/gm)].at(-1);
    const own = raisedAt === undefined ? message : message.slice(message.lastIndexOf("\n\n") + 2);
    throw new PlcError([
      diagnostic("template-render", { file: raisedAt?.[1] ?? file, problem: own.split("\n").find((l) => l.trim() !== "" && !/^\s*\d+\|/.test(l) && !l.startsWith(">>")) ?? "error" }, {
        origin: { kind: "file", file: raisedAt?.[1] ?? file, line: raisedAt === undefined ? lineOf(error, source) : Number(raisedAt[2]), col: 1 },
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
