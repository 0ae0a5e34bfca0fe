// Hostile inputs at build time: each refused with a located exit 2 (or a clear exit 1 when the output
// cannot be written), never an internal error, a hang, a leak or a half-written dist/.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkSpec } from "../compiler/index.js";
import { PlcError, textOf } from "../compiler/diagnostics.js";
import type { LoadOptions } from "../compiler/load/index.js";
import { encryptVault } from "../compiler/load/vault.js";
import { CLI } from "./fixtures.js";
import { isRoot, requireTool } from "./tools.js";

const scratch = mkdtempSync(join(tmpdir(), "plc-hostile-"));
after(() => {
  rmSync(scratch, { recursive: true, force: true });
});
let counter = 0;

/** A fresh folder with an inventory: relative path -> content. */
function inventory(files: Record<string, string>): string {
  const dir = join(scratch, `case-${++counter}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, "inv", path, ".."), { recursive: true });
    writeFileSync(join(dir, "inv", path), content);
  }
  mkdirSync(join(dir, "inv", "group_vars"), { recursive: true });
  return dir;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  signal: NodeJS.Signals | null;
}

// Root reads and writes everything; without CAP_DAC_* it obeys file modes like anyone else.
const NO_DAC = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"];

function plc(cwd: string, args: string[], options: { isUnprivileged?: boolean } = {}): Run {
  const command = [...(options.isUnprivileged === true ? NO_DAC : []), process.execPath, CLI, ...args];
  const result = spawnSync(command[0] ?? "", command.slice(1), {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, signal: result.signal };
}

/** exit 2, the diagnostic code, each fragment, no stack trace, nothing in dist/. */
function assertRefused(run: Run, cwd: string, code: string, fragments: string[]): void {
  assert.equal(run.signal, null, "plc did not hang");
  assert.equal(run.status, 2, `exit status; stderr:\n${run.stderr}`);
  assert.match(run.stderr, new RegExp(`error\\[${code}\\]`));
  assert.doesNotMatch(run.stderr, /internal error|\n\s+at /);
  for (const fragment of fragments) assert.ok(run.stderr.includes(fragment), `stderr lacks ${JSON.stringify(fragment)}:\n${run.stderr}`);
  assert.ok(!existsSync(join(cwd, "dist")) || readdirSync(join(cwd, "dist")).length === 0, "nothing written");
}

function options(words: string[], extra: Partial<LoadOptions> = {}): LoadOptions {
  return {
    words: words.map((text, index) => ({ text, index: index + 1 })),
    plugins: [],
    inventoryDir: undefined,
    vaultPasswordFiles: [],
    pluginsDirs: [],
    imageArchive: undefined,
    cwd: scratch,
    ...extra,
  };
}

function diagnosticsOf(action: () => unknown): PlcError {
  try {
    action();
  } catch (error) {
    if (error instanceof PlcError) return error;
    throw error;
  }
  assert.fail("expected a PlcError");
}

describe("prototype pollution", () => {
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
  const dir = inventory({ "group_vars/all.yml": 'project_staging_image: app:v1\nproject_staging_env: {__proto__: {polluted: "1"}}\n' });
  const vectors: [string, LoadOptions, string][] = [
    ["a dotted argv name", options(["image=app:v1", "a.__proto__.b=1"]), "argv"],
    ["an env key on argv", options(["image=app:v1", "env.__proto__.x=1"]), "argv"],
    ["a JSON argument", options(["image=app:v1", '{"__proto__":{"polluted":"yes"}}']), "argv"],
    ["an env key in JSON", options(["image=app:v1", '{"env":{"__proto__":{"x":"1"}}}']), "argv"],
    ["a YAML key in group_vars", options([], { inventoryDir: join(dir, "inv"), cwd: dir }), "file"],
  ];
  for (const [name, loadOptions, kind] of vectors) {
    it(`${name}: refused as proto-key, located; Object.prototype unchanged`, () => {
      const error = diagnosticsOf(() => checkSpec(loadOptions));
      const [first] = error.diagnostics;
      assert.equal(first?.code, "proto-key", error.message);
      assert.match(textOf(first).message, /__proto__/);
      assert.equal(first.origin?.kind, kind);
      assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys);
      const probe: Record<string, unknown> = {};
      assert.equal(probe["b"], undefined);
      assert.equal(probe["polluted"], undefined);
      assert.equal(probe["x"], undefined);
    });
  }
  it("the CLI says so with exit 2, not an ajv crash (exit 70)", () => {
    const cwd = inventory({});
    assertRefused(plc(cwd, ["build", "image=app:v1", "a.__proto__.b=1"]), cwd, "proto-key", ["argv[2]", "__proto__"]);
  });
});

describe("YAML aliases", () => {
  it("resolve as Ansible does: scalars, the image, a secret, a merged map", () => {
    const dir = inventory({
      "group_vars/all.yml": [
        'common: &common "shared-value"',
        "img: &img app:v1",
        "pw: &pw restic-secret",
        "base: &base {B: from-base, C: from-base}",
        "project_staging_image: *img",
        "project_staging_backup_password: *pw",
        "project_staging_env:",
        "  <<: *base",
        "  A: *common",
        "  C: own",
        "",
      ].join("\n"),
    });
    const { spec } = checkSpec(options([], { inventoryDir: join(dir, "inv"), cwd: dir }));
    assert.equal(spec.image, "app:v1");
    assert.equal(spec.backupPassword, "restic-secret");
    const env = Object.fromEntries(spec.env.map((entry) => [entry.key, entry.value]));
    assert.deepEqual({ A: env["A"], B: env["B"], C: env["C"] }, { A: "shared-value", B: "from-base", C: "own" });
  });

  const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  // Eleven levels of ten aliases each: 10^11 strings if expanded.
  const letters = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"];
  for (let index = 1; index < letters.length; index++) {
    const name = letters[index] ?? "";
    bomb.push(`${name}: &${name} [${Array.from({ length: 10 }, () => `*${letters[index - 1] ?? ""}`).join(",")}]`);
  }
  for (const file of ["group_vars/all.yml", "inventory.yml"]) {
    it(`an alias bomb in ${file} is a located exit 2, not exit 70`, () => {
      const cwd = inventory({ [file]: bomb.join("\n") + "\n" });
      const run = plc(cwd, ["build", "-i", "inv", "image=app:v1"]);
      assertRefused(run, cwd, "yaml-alias-bomb", [`inv/${file}:`, "aliases expand"]);
    });
  }
});

describe("inventory files that are not regular files", () => {
  const cases: [string, (dir: string) => void, string, string][] = [
    ["a symlink to /dev/zero", (dir) => { symlinkSync("/dev/zero", join(dir, "inv/group_vars/all.yml")); }, "inv/group_vars/all.yml is a device", "not-regular-file"],
    ["a FIFO in group_vars", (dir) => { mkfifo(join(dir, "inv/group_vars/project-staging.yml")); }, "inv/group_vars/project-staging.yml is a FIFO", "not-regular-file"],
    ["a FIFO as inventory.yml", (dir) => { mkfifo(join(dir, "inv/inventory.yml")); }, "inv/inventory.yml is a FIFO", "not-regular-file"],
    ["a dangling symlink", (dir) => { symlinkSync("/nonexistent/plc", join(dir, "inv/group_vars/x.yml")); }, "inv/group_vars/x.yml is a symbolic link to nothing", "unreadable-file"],
    [
      "a symlink loop",
      (dir) => {
        symlinkSync("loop-b.yml", join(dir, "inv/group_vars/loop-a.yml"));
        symlinkSync("loop-a.yml", join(dir, "inv/group_vars/loop-b.yml"));
      },
      "inv/group_vars/loop-a.yml is a symbolic link loop",
      "unreadable-file",
    ],
    ["a file over the size limit", (dir) => { writeFileSync(join(dir, "inv/group_vars/all.yml"), `a: "${"x".repeat(17 * 1024 * 1024)}"\n`); }, "more than the 16777216", "file-too-big"],
  ];
  for (const [name, make, fragment, code] of cases) {
    it(`${name}: located exit 2, no hang`, () => {
      const cwd = inventory({});
      make(cwd);
      assertRefused(plc(cwd, ["build", "-i", "inv", "image=app:v1"]), cwd, code, [fragment, "-->"]);
    });
  }
  it("an unreadable file says so (not 'not valid UTF-8'), and the reporter does not crash re-reading it", (t) => {
    if (!isRoot()) {
      t.skip("needs root (plc runs without CAP_DAC_OVERRIDE)");
      return;
    }
    if (!requireTool(t, "setpriv")) return;
    const cwd = inventory({ "group_vars/all.yml": "project_staging_image: app:v1\n" });
    chmodSync(join(cwd, "inv/group_vars/all.yml"), 0o000);
    const run = plc(cwd, ["build", "-i", "inv"], { isUnprivileged: true });
    assertRefused(run, cwd, "unreadable-file", ["inv/group_vars/all.yml cannot be read: permission denied", "--> inv/group_vars/all.yml:1:1"]);
    assert.doesNotMatch(run.stderr, /UTF-8|EACCES/);
  });
});

function mkfifo(path: string): void {
  const result = spawnSync("mkfifo", [path]);
  assert.equal(result.status, 0, "mkfifo");
}

describe("-o that cannot be written", () => {
  it("-o naming a file: exit 2 out-dir-not-dir", () => {
    const cwd = inventory({});
    writeFileSync(join(cwd, "afile"), "");
    const run = plc(cwd, ["build", "-o", "afile", "image=app:v1"]);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /error\[out-dir-not-dir\]: -o afile is not a directory/);
    assert.equal(run.stdout, "");
  });
  it("plc render -o naming a file: exit 2 out-dir-not-dir, the file untouched", () => {
    const cwd = inventory({});
    writeFileSync(join(cwd, "afile"), "keep\n");
    const run = plc(cwd, ["render", "-o", "afile", "image=app:v1"]);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /error\[out-dir-not-dir\]: -o afile is not a directory/);
    assert.equal(readFileSync(join(cwd, "afile"), "utf8"), "keep\n");
  });
  it("-o not writable: exit 1 cannot-write, permission denied, nothing left", (t) => {
    if (!isRoot()) {
      t.skip("needs root (plc runs without CAP_DAC_OVERRIDE)");
      return;
    }
    if (!requireTool(t, "setpriv")) return;
    const cwd = inventory({});
    mkdirSync(join(cwd, "ro"), { mode: 0o555 });
    const run = plc(cwd, ["build", "-o", "ro", "image=app:v1"], { isUnprivileged: true });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /error\[cannot-write\]: cannot write ro\/project-staging-[0-9a-f]+\.tar\.gz: permission denied/);
    assert.doesNotMatch(run.stderr, /internal error/);
    assert.deepEqual(readdirSync(join(cwd, "ro")), []);
  });
  it("a directory where the secrets file goes: exit 1, no tarball without its secrets, no temporary", () => {
    const cwd = inventory({});
    const args = ["build", "-o", "dist", "image=app:v1", "env.API_TOKEN=s3cret", "secret_env=API_TOKEN"];
    const first = plc(cwd, args);
    assert.equal(first.status, 0, first.stderr);
    const secretsFile = readdirSync(join(cwd, "dist")).find((file) => file.endsWith(".secrets.env")) ?? "";
    rmSync(join(cwd, "dist"), { recursive: true });
    mkdirSync(join(cwd, "dist", secretsFile), { recursive: true });
    const run = plc(cwd, args);
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /error\[cannot-write\]: cannot write dist\/.*\.secrets\.env: a directory is in the way/);
    assert.deepEqual(readdirSync(join(cwd, "dist")), [secretsFile], "no tarball, no .tmp-* file");
    assert.equal(run.stdout, "");
  });
});

describe("vault values", () => {
  const vault = (text: string, indent: string): string =>
    "!vault |\n" + encryptVault(text, { id: undefined, password: "pw" }).trim().split("\n").map((line) => indent + line).join("\n");
  const clear: [string, string][] = [
    ["image", "registry.example.com/secretproj:vaultimg"],
    ["dns", "vaultdns.example.com"],
    ["home", "/srv/VAULTHOME"],
    ["healthcheck_path", "/VAULTHEALTH"],
  ];
  for (const [variable, secret] of clear) {
    it(`a vault ${variable} is refused, located, without printing it`, () => {
      const image = variable === "image" ? "" : "project_staging_image: app:v1\n";
      const cwd = inventory({ "group_vars/all.yml": `${image}project_staging_${variable}: ${vault(secret, "  ")}\n` });
      writeFileSync(join(cwd, "vpw"), "pw\n");
      const run = plc(cwd, ["build", "-i", "inv", "--vault-password-file", "vpw"]);
      assertRefused(run, cwd, "vault-in-clear", [`${variable} is an Ansible Vault value`, "inv/group_vars/all.yml:", "cannot be kept out of a public tarball"]);
      assert.ok(!run.stderr.includes(secret) && !run.stderr.includes(secret.replace(/^\//, "")), run.stderr);
    });
  }
  it("a vault-encrypted vars file holding the image is refused too", () => {
    const cwd = inventory({ "group_vars/all/vault.yml": encryptVault("project_staging_image: registry.example.com/secretproj:vaultimg\n", { id: undefined, password: "pw" }) });
    writeFileSync(join(cwd, "vpw"), "pw\n");
    const run = plc(cwd, ["build", "-i", "inv", "--vault-password-file", "vpw"]);
    assertRefused(run, cwd, "vault-in-clear", ["image is an Ansible Vault value", "inv/group_vars/all/vault.yml:1:"]);
    assert.doesNotMatch(run.stderr, /vaultimg/);
  });
  it("an invalid vault image is not printed either", () => {
    const cwd = inventory({ "group_vars/all.yml": `project_staging_image: ${vault("Registry/TOPSECRET-IMG", "  ")}\n` });
    writeFileSync(join(cwd, "vpw"), "pw\n");
    const run = plc(cwd, ["build", "-i", "inv", "--vault-password-file", "vpw"]);
    assert.equal(run.status, 2, run.stderr);
    assert.doesNotMatch(run.stderr, /TOPSECRET/);
  });
  it("vault env values and secret variables still build, out of the tarball", () => {
    const cwd = inventory({
      "group_vars/all.yml": `project_staging_image: app:v1\nproject_staging_backup_password: ${vault("RESTIC-PW", "  ")}\nproject_staging_env:\n  TOKEN: ${vault("VAULT-TOKEN", "    ")}\n`,
    });
    writeFileSync(join(cwd, "vpw"), "pw\n");
    const run = plc(cwd, ["build", "-i", "inv", "--vault-password-file", "vpw"]);
    assert.equal(run.status, 0, run.stderr);
    const tarball = readdirSync(join(cwd, "dist")).find((file) => file.endsWith(".tar.gz")) ?? "";
    const unpacked = spawnSync("sh", ["-c", `zcat ${JSON.stringify(join(cwd, "dist", tarball))}`], { encoding: "latin1" }).stdout;
    assert.ok(!unpacked.includes("VAULT-TOKEN") && !unpacked.includes("RESTIC-PW"));
  });
});

describe("plugins", () => {
  it("a --plugins-dir plugin with a built-in's name is noted as shadowing it", () => {
    const cwd = inventory({});
    mkdirSync(join(cwd, "pdir", "postgres"), { recursive: true });
    writeFileSync(join(cwd, "pdir", "postgres", "plugin.yml"), "name: postgres\ndescription: not plc's postgres\n");
    const run = plc(cwd, ["check", "--plugins-dir", "pdir", "-p", "postgres", "image=app:v1"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /note: plugin 'postgres' of .*pdir\/postgres shadows the built-in postgres plugin/);
    const unused = plc(cwd, ["check", "--plugins-dir", "pdir", "image=app:v1"]);
    assert.match(unused.stderr, /shadows the built-in postgres plugin/, "said even when not used: -p postgres would pick it");
    const listed = plc(cwd, ["plugins", "--plugins-dir", "pdir"]);
    assert.match(listed.stdout, /^postgres: not plc's postgres\n {2}from .*pdir\/postgres: shadows the built-in postgres plugin$/m);
  });
});

describe("a superuser password with a newline", () => {
  it("names users.0.password and where it came from, not the django plugin's template", () => {
    const cwd = inventory({});
    const run = plc(cwd, ["build", "image=app:v1", "-p", "django", '{"users":[{"name":"ok","password":"a\\nb","roles":["project-staging"]}]}']);
    assertRefused(run, cwd, "multi-line-value", ["users.0.password may not hold a line break", "argv[4] (JSON argument)"]);
    assert.doesNotMatch(run.stderr, /secrets\.env\.ejs/);
  });
});
