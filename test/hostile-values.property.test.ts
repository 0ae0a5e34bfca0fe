// Hostile text through every string variable of the schemas (the project's and each built-in plugin's,
// enumerated from the schemas so a new variable is covered without touching this file), into every
// generated file. Values validation refuses are counted and skipped; for the others each shell script
// must parse under dash, the env and secrets files must source cleanly, install.sh --help and --check
// must run to their end under dash with stub commands, and no canary command (in $(…), backticks,
// after ;) may ever run; a whole deploy with stub commands runs the pinned values. Seeds fixed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { it, type TestContext } from "node:test";
import fc from "fast-check";
import { PlcError } from "../compiler/diagnostics.js";
import { compileBundle } from "../compiler/index.js";
import { readPlugins } from "../compiler/load/plugins.js";
import { sh, shAssign } from "../compiler/render/quote.js";
import { textProblem } from "../compiler/validate/formats.js";
import type { BundleFile } from "../compiler/types.js";
import { ROOT } from "./fixtures.js";
import { isRoot, requireTool } from "./tools.js";

const SEED = 20261201;
/** Random values per variable, besides the pinned ones below. */
const RUNS = 3;
const CANARY = `/tmp/plc-canary-${String(process.pid)}`;
const PLUGINS = ["postgres", "uwsgi", "django", "sentry"];

/** Every plugin on and every feature used, so each variable reaches every template it can. */
const BASE: Record<string, unknown> = {
  image: "app:1",
  plugins: PLUGINS,
  prefix: "app",
  instance: "staging",
  env: { PUBLIC: "a", TOKEN: "t" },
  secret_env: ["TOKEN"],
  dns: ["www.example.com"],
  dns_redirect: ["old.example.com"],
  htaccess: [{ user: "admin", password: "pw" }],
  healthcheck_path: "/health",
  backup_password: "pw",
  lftp_dsn: "sftp://mirror:pw@mirror.example.com/backups/app",
  backup_schedule: "daily",
  prune_schedule: "weekly",
  log_mount: "/app/log",
  sentry_dsn: "https://key@sentry.example.com/42",
  sentry_environment: "staging",
  users: [{ name: "admin", email: "admin@example.com", password: "pw", roles: { "app-staging": ["superuser"] } }],
  django_manage: ["python", "manage.py"],
  uwsgi_spooler_names: "mail,jobs",
  uwsgi_spooler_mount: "/spooler",
  postgres_image: "postgres:17",
  letsencrypt_email: "ops@example.com",
  // letsencrypt_email alone means acme, which refuses a wildcard name (HTTP-01 cannot prove one): off
  // here, so every hostile dns value is tried; the TLS values have their own cases.
  tls: "off",
};

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
}

/** Paths of every string in a schema: `dns.[]`, `env.*`, `htaccess.[].user`. */
function stringPaths(schema: Schema, path: string[] = []): string[][] {
  if (schema.type === "string") return [path];
  const paths: string[][] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) paths.push(...stringPaths(child, [...path, key]));
  if (typeof schema.additionalProperties === "object") paths.push(...stringPaths(schema.additionalProperties, [...path, "*"]));
  if (schema.items) paths.push(...stringPaths(schema.items, [...path, "[]"]));
  return paths;
}

function variablePaths(): string[][] {
  const project = JSON.parse(readFileSync(join(ROOT, "schema", "project.schema.json"), "utf8")) as Schema;
  const paths = stringPaths(project);
  for (const plugin of readPlugins([], ROOT).filter((p) => PLUGINS.includes(p.name))) {
    for (const [name, schema] of Object.entries(plugin.variables)) paths.push(...stringPaths(schema as Schema, [name]));
  }
  return paths;
}

/** BASE with the string at `path` (first item of a list, key PUBLIC of a map) replaced by `value`. */
function withValue(path: string[], value: string): Record<string, unknown> {
  const root = structuredClone(BASE);
  let node: Record<string, unknown> | unknown[] = root;
  for (const [index, part] of path.entries()) {
    const key = part === "[]" ? 0 : part === "*" ? "PUBLIC" : part;
    const last = index === path.length - 1;
    if (last) {
      (node as Record<string | number, unknown>)[key] = value;
      break;
    }
    const container = node as Record<string | number, unknown>;
    const next = container[key];
    if (typeof next !== "object" || next === null) container[key] = path[index + 1] === "[]" ? [] : {};
    node = container[key] as Record<string, unknown> | unknown[];
  }
  return root;
}

function baseValue(path: string[]): string {
  let node: unknown = BASE;
  for (const part of path) {
    if (typeof node !== "object" || node === null) return "x";
    node = part === "[]" ? (node as unknown[])[0] : part === "*" ? (node as Record<string, unknown>)["PUBLIC"] : (node as Record<string, unknown>)[part];
  }
  return typeof node === "string" ? node : "x";
}

const FRAGMENTS = [
  `$(touch ${CANARY})`,
  `$(touch$IFS${CANARY})`,
  `\`touch ${CANARY}\``,
  `;touch ${CANARY};`,
  `'$(touch ${CANARY})'`,
  `"$(touch ${CANARY})"`,
  "'",
  '"',
  "\\",
  "\n",
  "*",
  "$IFS",
  "${HOME}",
  " ",
  "%",
  "!",
  "&",
  "|",
  "#",
  "~",
  "é",
];
const fragment = fc.constantFrom(...FRAGMENTS);

/** The variable's own valid value with hostile pieces put in, or hostile text alone. */
function hostile(base: string): fc.Arbitrary<string> {
  const inserted = fc
    .tuple(fc.array(fragment, { minLength: 1, maxLength: 3 }), fc.nat({ max: base.length }))
    .map(([pieces, at]) => base.slice(0, at) + pieces.join("") + base.slice(at));
  const free = fc.array(fc.oneof(fragment, fc.string({ unit: "grapheme", maxLength: 6 })), { minLength: 1, maxLength: 6 }).map((parts) => parts.join(""));
  return fc.oneof(inserted, free).filter((text) => textProblem(text) === undefined);
}

/**
 * Values that validation accepts and that broke quoting once (C29, C33), for every variable: a wildcard,
 * a command substitution where $IFS stands in for the space patterns refuse, the same between single
 * quotes, and the rest of the shell's syntax for free-text variables.
 */
function pinned(base: string): string[] {
  return [
    `*.${base}`,
    `${base}/$(touch$IFS${CANARY})`,
    `${base}'$(touch$IFS${CANARY})'`,
    `${base}"\n;touch ${CANARY};\`touch ${CANARY}\`\\`,
  ];
}

const STUBS: Record<string, string> = {
  // docker keeps which containers exist (by name, in $PLC_STUB_STATE) and succeeds at everything else.
  docker: [
    'state="$PLC_STUB_STATE"',
    'mkdir -p "$state"',
    "last=",
    'for arg; do last=$arg; done',
    // `docker container inspect` is `docker inspect` for a container.
    'if [ "$1" = container ]; then shift; fi',
    "case $1 in",
    "  inspect)",
    '    [ -f "$state/$last" ] || exit 1',
    "    case \"$*\" in *State.Running*) echo true ;; *Config.Image*) echo app:1 ;; esac ;;",
    "  run)",
    "    name=",
    '    while [ $# -gt 0 ]; do [ "$1" = --name ] && name=$2; shift; done',
    '    if [ -n "$name" ]; then : >"$state/$name"; else echo 0; fi ;;',
    '  rm) rm -f "$state/$last" ;;',
    '  rename) mv "$state/$2" "$state/$3" ;;',
    "  exec) case \"$*\" in *pg_dumpall*) echo '-- PostgreSQL database cluster dump complete' ;; esac ;;",
    "esac",
  ].join("\n"),
  curl: "printf 200",
  systemctl: "",
  restic: "",
  lftp: "",
  nginx: "",
};

interface Build {
  name: string;
  value: string;
  release: string;
  secrets: string;
  /** The bundle's files, as packed. */
  files: BundleFile[];
  secretsText: string;
}

/**
 * Builds BASE with each hostile value in each string variable, writes the release and its secrets file,
 * and calls `check` on it. Refused values are counted; returns, per variable, "rendered/tried".
 */
function forEachHostileBuild(root: string, values: (base: string, seed: number) => string[], check: (build: Build) => void): Record<string, string> {
  const paths = variablePaths();
  assert.ok(paths.length >= 25, `only ${String(paths.length)} string variables found`);
  const counts: Record<string, string> = {};
  for (const [index, path] of paths.entries()) {
    const name = path.join(".");
    const tried = values(baseValue(path), SEED + index);
    let rendered = 0;
    for (const value of tried) {
      let compiled;
      try {
        compiled = compileBundle(
          {
            words: [{ text: JSON.stringify(withValue(path, value)), index: 1 }],
            plugins: [],
            inventoryDir: undefined,
            vaultPasswordFiles: [],
            pluginsDirs: [],
            imageArchive: undefined,
            cwd: root,
          },
          { plcVersion: "test", mtime: 0 },
        );
      } catch (error) {
        if (!(error instanceof PlcError)) throw error;
        // A value validation accepted must render: a template error here is plc's bug, not the user's.
        assert.ok(!error.diagnostics.some((d) => d.code.startsWith("lint-") || ["template-render", "secrets-template-line", "plugin-env-template"].includes(d.code)), `${name}=${JSON.stringify(value)}: ${error.message}`);
        continue;
      }
      rendered++;
      const release = join(root, "release");
      rmSync(release, { recursive: true, force: true });
      for (const file of compiled.packed.files) {
        mkdirSync(dirname(join(release, file.path)), { recursive: true });
        writeFileSync(join(release, file.path), file.content, { mode: file.mode });
      }
      const secrets = join(root, "secrets.env");
      const secretsText = compiled.bundle.secrets.map((s) => shAssign(s.key, s.value) + "\n").join("");
      writeFileSync(secrets, secretsText, { mode: 0o600 });
      check({ name, value, release, secrets, files: compiled.packed.files, secretsText });
      assert.equal(existsSync(CANARY), false, `${name}=${JSON.stringify(value)} ran its canary`);
    }
    counts[name] = `${String(rendered)}/${String(tried.length)}`;
  }
  return counts;
}

function withStubs(t: TestContext, body: (root: string, path: string) => void): void {
  if (!requireTool(t, "dash", "unshare", "flock")) return;
  if (!isRoot()) {
    if (process.env["CI"] !== undefined) assert.fail("needs root: install.sh runs in a mount namespace of its own");
    t.skip("needs root: install.sh runs in a mount namespace of its own");
    return;
  }
  const root = mkdtempSync(join(tmpdir(), "plc-hostile-"));
  const bin = join(root, "bin");
  mkdirSync(bin);
  for (const [name, body] of Object.entries(STUBS)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\nexit 0\n`);
    chmodSync(join(bin, name), 0o755);
  }
  try {
    body(root, `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(CANARY, { force: true });
  }
}

/** Runs `script` in a mount namespace whose listed directories are fresh tmpfs: nothing reaches the machine. */
function isolated(dirs: string[], script: string, path: string) {
  const mounts = dirs.map((dir) => `mount -t tmpfs plc ${sh(dir)} || exit 5`).join("\n");
  return spawnSync("unshare", ["--mount", "sh", "-c", `${mounts}\n${script}`], { encoding: "utf8", env: { PATH: path, PLC_STUB_STATE: "/run/lock/plc-stub" } });
}

it("hostile values in every string variable never run, and every script still parses and runs", (t) => {
  withStubs(t, (root, path) => {
    const started = Date.now();
    // What was run already: a script's parse depends only on its bytes, install.sh --help and --check
    // only on install.sh, the file names, secrets.keys and the secrets file. Same inputs, same run.
    const parsed = new Set<string>();
    const checked = new Set<string>();
    let runs = 0;
    const digest = (...parts: (string | Buffer)[]): string => parts.reduce((hash, part) => hash.update(part).update("\0"), createHash("sha256")).digest("hex");
    const counts = forEachHostileBuild(
      root,
      (base, seed) => [...pinned(base), ...fc.sample(hostile(base), { seed, numRuns: RUNS })],
      (build) => {
        const what = `${build.name}=${JSON.stringify(build.value)}`;
        const content = (path: string): string | Buffer => build.files.find((file) => file.path === path)?.content ?? "";
        const scripts = build.files.filter((file) => file.path.endsWith(".sh") && !parsed.has(digest(file.content)));
        // The env file and the secrets file are shell too: docker-run.sh and the hooks source them.
        const sourced = [join(build.release, "env"), build.secrets].filter((file) => !parsed.has(digest(readFileSync(file))));
        const checkKey = digest(content("install.sh"), build.files.map((file) => file.path).join("\n"), content("secrets.keys"), build.secretsText);
        const check = !checked.has(checkKey);
        if (scripts.length === 0 && sourced.length === 0 && !check) return;
        runs++;
        // One process per build: new scripts parsed, install.sh --help, then --check with its own
        // /run/lock and /home (it takes the install lock and reads the home).
        const install = sh(join(build.release, "install.sh"));
        const run = isolated(
          ["/run/lock", "/home"],
          `for f in ${["", ...scripts.map((file) => sh(join(build.release, file.path)))].join(" ")}; do dash -n "$f" || { echo "does not parse: $f" >&2; exit 3; }; done
for f in ${["", ...sourced.map(sh)].join(" ")}; do dash -c 'set -eu; . "$1"' sh "$f" || { echo "cannot be sourced: $f" >&2; exit 3; }; done
${check ? "" : "exit 0"}
dash ${install} --help | grep -q '^usage: install.sh' || { echo "install.sh --help failed" >&2; exit 4; }
exec dash ${install} --check --secrets ${sh(build.secrets)}`,
          path,
        );
        assert.equal(run.status, 0, `${what}: ${run.stderr}`);
        if (check) assert.match(run.stdout, /ok: prerequisites, checksums and secrets/, what);
        for (const file of scripts) parsed.add(digest(file.content));
        for (const file of sourced) parsed.add(digest(readFileSync(file)));
        checked.add(checkKey);
      },
    );
    t.diagnostic(`builds that reached rendering, per variable (${String(runs)} runs of new scripts, ${String(Date.now() - started)} ms): ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    // Free-text variables must be exercised, not all refused.
    for (const name of ["env.*", "healthcheck_path", "dns.[]", "backup_password", "htaccess.[].password", "users.[].email"]) {
      assert.ok(!(counts[name] ?? "0/").startsWith("0/"), `no hostile value of ${name} reached rendering`);
    }
  });
});

it(
  "the pinned hostile values of every variable go through a whole deploy with stub commands, and run nothing",
  (t) => {
    withStubs(t, (root, path) => {
      const started = Date.now();
      // A deploy takes about a second: one per variable, with the first of these its validation accepts:
      // the $IFS substitution (C29), the wildcard (C33), the rest of the shell's syntax.
      const deployed = new Set<string>();
      const counts = forEachHostileBuild(root, (base) => [1, 0, 3].map((index) => pinned(base)[index] ?? base), (build) => {
        if (deployed.has(build.name)) return;
        deployed.add(build.name);
        const run = isolated(
          ["/run/lock", "/home", "/root", "/etc/systemd/system", "/etc/logrotate.d", "/etc/nginx"],
          `rm -rf "$PLC_STUB_STATE"\nexec dash ${sh(join(build.release, "install.sh"))} --secrets ${sh(build.secrets)}`,
          path,
        );
        assert.equal(run.status, 0, `${build.name}=${JSON.stringify(build.value)}: ${run.stdout}\n${run.stderr}`);
      });
      t.diagnostic(`deploys per variable (${String(Date.now() - started)} ms): ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    });
  },
);
