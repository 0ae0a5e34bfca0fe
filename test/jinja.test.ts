// Jinja in inventory values, evaluated at build time: every construct inventories use, lazily and
// per host, secrets kept secret, and each error a located exit-2 diagnostic. Never a `{{` in a bundle.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { checkSpec, compileBundle } from "../compiler/index.js";
import { PlcError, textOf } from "../compiler/diagnostics.js";
import type { LoadOptions } from "../compiler/load/index.js";
import { encryptVault } from "../compiler/load/vault.js";
import type { Spec } from "../compiler/types.js";
import { CLI } from "./fixtures.js";

const PASSWORD = "jinja test vault password";
const vaulted = (text: string): string => encryptVault(text, { id: undefined, password: PASSWORD }, Buffer.alloc(32, 3));
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A scratch inventory under `inv/`, with a `.vault` password beside it. */
function inventory(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "plc-jinja-"));
  dirs.push(dir);
  for (const [path, content] of Object.entries({ "inv/.vault": PASSWORD + "\n", "inv/inventory.yml": "all:\n  children:\n    app-production:\n      hosts:\n        web1.example.com:\n", ...files })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

function options(dir: string, words: string[] = [], environment: Record<string, string> = {}): LoadOptions {
  return {
    words: ["prefix=app", "instance=production", ...words].map((text, index) => ({ text, index: index + 1 })),
    plugins: [],
    inventoryDir: join(dir, "inv"),
    vaultPasswordFiles: [],
    pluginsDirs: [],
    imageArchive: undefined,
    cwd: dir,
    environment,
  };
}

// playlabs' base environment every container gets (ALLOWED_HOSTS, PLAYLABS_*, LOG…) is not the inventory's.
const BASE_ENV = new Set(["ALLOWED_HOSTS", "VIRTUAL_HOST", "DEFAULT_FROM_EMAIL", "PLAYLABS_PREFIX", "PLAYLABS_INSTANCE", "PLAYLABS_PLUGINS", "LOG"]);
const envOf = (spec: Spec): Record<string, string> =>
  Object.fromEntries(spec.env.filter((entry) => !BASE_ENV.has(entry.key)).map((entry) => [entry.key, entry.value]));

function refused(dir: string, words: string[] = []): PlcError {
  try {
    checkSpec(options(dir, words));
  } catch (error) {
    if (error instanceof PlcError) return error;
    throw error;
  }
  return assert.fail("expected a located error");
}

describe("Jinja in inventory values", () => {
  const project = [
    "app_production_image: 'reg.example.com/app:{{ lookup(\"env\", \"CI_COMMIT_SHA\") }}'",
    "app_production_dns: '{{ domains }}'",
    "domains: ['app.{{ domain }}', 'www.{{ domain }}']",
    "domain: example.org",
    "app_production_backup_password: '{{ vault_backup_password }}'",
    "vault_backup_password: " + "!vault |\n  " + vaulted("restic-secret").trimEnd().replace(/\n/g, "\n  "),
    "app_production_env:",
    "  REF: '{{ other }}'",
    "  DEFAULT: '{{ missing | default(\"fallback\") }}'",
    "  D: '{{ missing | d(\"short\") }}'",
    "  JOIN: '{{ [\"a\", \"b\"] | join(\",\") }}'",
    "  LOWER: '{{ \"ABC\" | lower }}'",
    "  UPPER: '{{ \"abc\" | upper }}'",
    "  REPLACE: '{{ \"a-b-c\" | replace(\"-\", \"_\") }}'",
    "  REGEX: '{{ \"feature/login-2\" | regex_replace(\"[^a-z0-9]+\", \"-\") }}'",
    "  REGEX_GROUP: '{{ \"v1.2.3\" | regex_replace(\"^v(\\\\d+)\\\\..*$\", \"major \\\\1\") }}'",
    "  TRIM: '{{ \"  padded  \" | trim }}'",
    "  INT: '{{ (\"41\" | int) + 1 }}'",
    "  BOOL: '{{ \"yes\" | bool }}'",
    "  STRING: '{{ 5 | string }}-x'",
    "  TO_JSON: '{{ {\"k\": [1, 2]} | to_json }}'",
    "  FROM_JSON: '{{ (\"{\\\"a\\\": 7}\" | from_json).a }}'",
    "  B64E: '{{ \"hello\" | b64encode }}'",
    "  B64D: '{{ \"aGVsbG8=\" | b64decode }}'",
    "  COMBINE: '{{ ({\"a\": 1, \"b\": 1} | combine({\"b\": 2})).b }}'",
    "  LIST_LENGTH: '{{ \"abc\" | list | length }}'",
    "  FIRST: '{{ domains | first }}'",
    "  LAST: '{{ [1, 2, 3] | last }}'",
    "  IF: '{% if instance == \"production\" %}prod{% else %}other{% endif %}'",
    "  INLINE_IF: '{{ \"1\" if instance == \"staging\" else \"0\" }}'",
    "  HOST: '{{ inventory_hostname }}'",
    "  NAME: '{{ prefix }}-{{ instance }}'",
    "  FILE: '{{ lookup(\"file\", \"files/motd\") }}'",
    "  URL: '{{ \"https://user:pw@sentry.example.com/api/1\" | url_only }}'",
    "  KEY: '{{ \"deploy\" | key_pub_read }}'",
    "  SECRET_KEY: '{{ \"secrets/app_production_secret_key\" | vaulted_read }}'",
    "  ADMIN_PASSWORD: '{{ \"admin\" | vaulted_password }}'",
    "  RAW: !unsafe '{{ not a template }}'",
    "other: '{{ chained }}'",
    "chained: from-chained",
    // Never read by plc: Ansible evaluates lazily, so its error breaks nothing.
    "unused_broken: '{{ nope | nofilter }}'",
    "",
  ].join("\n");
  const dir = inventory({
    "inv/group_vars/all/project.yml": project,
    "inv/files/motd": "from a file\n",
    "inv/keys/deploy.pub": "ssh-ed25519 AAAAC3Nz deploy@example\n",
    "inv/secrets/app_production_secret_key": vaulted("the-decrypted-django-key"),
    "inv/passwords/admin": vaulted("admin-password\n"),
  });
  const environment = { CI_COMMIT_SHA: "0123abc" };
  const { spec } = checkSpec({ ...options(dir), environment });
  const env = envOf(spec);

  it("evaluates every construct: variables, filters, lookups, conditionals, playlabs' filters", () => {
    assert.deepEqual(
      { ...env },
      {
        REF: "from-chained",
        DEFAULT: "fallback",
        D: "short",
        JOIN: "a,b",
        LOWER: "abc",
        UPPER: "ABC",
        REPLACE: "a_b_c",
        REGEX: "feature-login-2",
        REGEX_GROUP: "major 1",
        TRIM: "padded",
        INT: "42",
        BOOL: "true",
        STRING: "5-x",
        TO_JSON: '{"k":[1,2]}',
        FROM_JSON: "7",
        B64E: "aGVsbG8=",
        B64D: "hello",
        COMBINE: "2",
        LIST_LENGTH: "3",
        FIRST: "app.example.org",
        LAST: "3",
        IF: "prod",
        INLINE_IF: "0",
        HOST: "web1.example.com",
        NAME: "app-production",
        FILE: "from a file",
        URL: "https://sentry.example.com",
        KEY: "ssh-ed25519 AAAAC3Nz deploy@example\n",
        SECRET_KEY: "the-decrypted-django-key",
        ADMIN_PASSWORD: "admin-password",
        RAW: "{{ not a template }}",
      },
    );
  });

  it("keeps a lone expression's type: a list stays a list, in a field with a format", () => {
    assert.deepEqual(spec.dns, ["app.example.org", "www.example.org"]);
    assert.equal(spec.image, "reg.example.com/app:0123abc");
  });

  it("a value derived from a secret is secret: vault indirection, vaulted_read, vaulted_password", () => {
    assert.equal(spec.backupPassword, "restic-secret");
    const secret = new Set(spec.env.filter((entry) => entry.isSecret).map((entry) => entry.key));
    assert.deepEqual([...secret].sort(), ["ADMIN_PASSWORD", "SECRET_KEY"]);
  });

  it("the tarball holds no secret and no '{{' but the !unsafe one; the secrets file holds the decrypted values", () => {
    const compiled = compileBundle({ ...options(dir), environment }, { plcVersion: "0.0.0-test", mtime: 0 });
    const text = compiled.packed.files.map((file) => file.content.toString()).join("\n");
    for (const secret of ["the-decrypted-django-key", "admin-password", "restic-secret"]) assert.ok(!text.includes(secret), `tarball holds ${secret}`);
    const envFile = compiled.packed.files.find((file) => file.path === "env")?.content.toString() ?? "";
    assert.deepEqual(envFile.match(/\{\{|\{%/g), ["{{"], envFile);
    assert.ok(envFile.includes("RAW='{{ not a template }}'"), envFile);
    const secrets = compiled.bundle.secrets.map((entry) => `${entry.key}=${entry.value}`);
    assert.ok(secrets.includes("SECRET_KEY=the-decrypted-django-key"), secrets.join("\n"));
    assert.ok(secrets.includes("PLC_BACKUP_PASSWORD=restic-secret"), secrets.join("\n"));
  });

  it("plc explain shows a templated value's expression and where its inputs came from, secrets masked", () => {
    const run = spawnSync(process.execPath, [CLI, "explain", "-i", "inv", "prefix=app", "instance=production", "env", "backup_password"], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", CI_COMMIT_SHA: "0123abc" },
    });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.split("\n");
    const after = (name: string): string => lines[lines.findIndex((line) => line.startsWith(`${name} = `)) + 1] ?? "";
    assert.match(after("env.REF"), /^ {4}= \{\{ other \}\} {2}\(other <- inv\/group_vars\/all\/project\.yml:\d+:\d+\)$/);
    assert.match(after("backup_password"), /= \{\{ vault_backup_password \}\} {2}\(vault_backup_password <- inv\/group_vars\/all\/project\.yml:6:\d+\)/);
    assert.match(lines.find((line) => line.startsWith("backup_password = ")) ?? "", /= "\*{8}"/);
    assert.ok(!run.stdout.includes("restic-secret") && !run.stdout.includes("the-decrypted-django-key"));
  });

  it("bare playlabs variables (`image`, `home`, `dns`, `backup_password`, `plugins`) win over prefixed ones, and explain says so", () => {
    const bare = inventory({
      "inv/group_vars/all/project.yml": "app_production_image: reg/app:prefixed\nimage: reg/app:bare\nhome: /srv/app\ndns: bare.example.com\nplugins: postgres\n",
      "inv/group_vars/all/backup_password.yml": "backup_password: " + "!vault |\n  " + vaulted("bare-restic").trimEnd().replace(/\n/g, "\n  ") + "\n",
    });
    const { spec: bareSpec } = checkSpec(options(bare));
    assert.equal(bareSpec.image, "reg/app:bare");
    assert.equal(bareSpec.home, "/srv/app");
    assert.deepEqual(bareSpec.dns, ["bare.example.com"]);
    assert.equal(bareSpec.backupPassword, "bare-restic");
    assert.deepEqual(bareSpec.plugins.map((plugin) => plugin.name), ["postgres"]);
    const image = bareSpec.values.get("/image");
    assert.match(JSON.stringify(image?.overrode), /project\.yml/);
    // The command line still wins over both.
    const { spec: cli } = checkSpec(options(bare, ["image=reg/app:cli"]));
    assert.equal(cli.image, "reg/app:cli");
  });
});

describe("Jinja errors: located, exit 2, nothing written", () => {
  const CODES: Record<string, string> = {
    "an undefined variable": "jinja-undefined",
    "a fact unknown at build time": "jinja-undefined",
    "an unknown filter": "jinja-unknown-filter",
    "a syntax error": "jinja-syntax",
    "an unclosed block": "jinja-syntax",
    "a cycle": "variable-cycle",
    "a lookup plc does not evaluate": "jinja-filter",
    "a vaulted_read of a missing file": "jinja-filter",
  };
  const cases: [string, string, RegExp, RegExp][] = [
    ["an undefined variable", "app_production_env:\n  X: '{{ nowhere }}'\n", /env\.X: 'nowhere' is undefined in "\{\{ nowhere \}\}"/, /define nowhere/],
    ["a fact unknown at build time", "app_production_env:\n  IP: '{{ ansible_default_ipv4.address }}'\n", /'ansible_default_ipv4' is undefined/, /fact of the host/],
    ["an unknown filter", "app_production_env:\n  X: '{{ \"a\" | frobnicate }}'\n", /unknown filter 'frobnicate'/, /plc knows the filters/],
    ["a syntax error", "app_production_env:\n  X: '{{ \"a\" '\n", /template syntax error/, /\{\{ \}\}/],
    ["an unclosed block", "app_production_env:\n  X: '{% if true %}x'\n", /template syntax error/, /pairs/],
    ["a cycle", "app_production_env:\n  X: '{{ a }}'\na: '{{ b }}'\nb: '{{ a }}'\n", /cycle: a -> b -> a/, /must hold a value/],
    ["a lookup plc does not evaluate", "app_production_env:\n  X: '{{ lookup(\"pipe\", \"date\") }}'\n", /lookup\('pipe'\) is not evaluated/, /lookup\('env'/],
    ["a vaulted_read of a missing file", "app_production_env:\n  X: '{{ \"secrets/none\" | vaulted_read }}'\n", /vaulted_read: .*secrets\/none not found/, /ansible-vault encrypt/],
  ];
  for (const [name, yaml, message, hint] of cases) {
    it(name, () => {
      const dir = inventory({ "inv/group_vars/all/project.yml": "app_production_image: reg/app:1\n" + yaml });
      const error = refused(dir);
      const [first] = error.diagnostics;
      assert.ok(first !== undefined, "refused");
      assert.equal(first.code, CODES[name], name);
      assert.match(textOf(first).message, message);
      assert.match(textOf(first).hint ?? "", hint);
      const origin = first.origin;
      assert.ok(origin?.kind === "file", "located in a file");
      assert.match(`${origin.file}:${origin.line}`, /inv\/group_vars\/all\/project\.yml:[2-4]/);
    });
  }

  it("through the CLI: exit 2, file:line:col, nothing written", () => {
    const dir = inventory({ "inv/group_vars/all/project.yml": "app_production_image: reg/app:1\napp_production_env:\n  X: '{{ nowhere }}'\n" });
    const run = spawnSync(process.execPath, [CLI, "build", "-i", "inv", "prefix=app", "instance=production"], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /error\[jinja-undefined\]/);
    assert.match(run.stderr, /inv\/group_vars\/all\/project\.yml:3:6/);
    assert.ok(!existsSync(join(dir, "dist")) || readdirSync(join(dir, "dist")).length === 0);
  });
});
