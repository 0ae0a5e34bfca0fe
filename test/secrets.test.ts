// Secrets: Ansible Vault values decrypted at load, kept out of the tarball, masked in output.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { tgzBytes } from "../compiler/pack/index.js";
import { after, before, describe, it } from "node:test";
import { CLI, compileFixture, fixtureNames, readFixture } from "./fixtures.js";
import { readEntries } from "./tamper.js";
import { hasTool } from "./tools.js";

const SECRET_KEY = "vaulted django key 'with quotes' $(and a subshell)";
const BACKUP_PASSWORD = "vaulted restic password";
const FILE_SECRET = "a value from a vault-encrypted file";

function vaultString(value: string, passwordFile: string, id?: string): string {
  const args = ["encrypt_string", id === undefined ? `--vault-password-file=${passwordFile}` : `--vault-id=${id}@${passwordFile}`, "--stdin-name", "x"];
  const result = spawnSync("ansible-vault", args, { input: value, encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  // "x: !vault |\n          $ANSIBLE_VAULT..." -> the tagged block scalar, re-indented under our key.
  return result.stdout.slice(result.stdout.indexOf("!vault")).trimEnd();
}

describe("secrets", () => {
  let dir = "";
  let inventory = "";
  let passwordFile = "";
  const plc = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...env } });

  before(() => {
    if (!hasTool("ansible-vault")) {
      if (process.env["CI"] !== undefined) assert.fail("ansible-vault missing: .ci/run must install ansible-core");
      return;
    }
    dir = mkdtempSync(join(tmpdir(), "plc-secrets-"));
    inventory = join(dir, "inventory");
    passwordFile = join(dir, "vault-password");
    writeFileSync(passwordFile, "correct horse\n");
    mkdirSync(join(inventory, "group_vars", "all"), { recursive: true });
    mkdirSync(join(inventory, "group_vars", "app-production"), { recursive: true });
    writeFileSync(
      join(inventory, "group_vars", "all", "app.yml"),
      [
        "app_production_image: registry.example.com/app:1.0",
        "app_production_env:",
        "  PUBLIC_URL: https://app.example.com",
        // Read from the vault file of the group: Ansible replaces a dict whole across layers, so a
        // second app_production_env there would drop these keys; a template reaches across instead.
        "  API_TOKEN: '{{ vault_api_token }}'",
        `  SECRET_KEY: ${vaultString(SECRET_KEY, passwordFile).replace(/\n/g, "\n  ")}`,
        `app_production_backup_password: ${vaultString(BACKUP_PASSWORD, passwordFile, "prod")}`,
        "",
      ].join("\n"),
    );
    const plain = join(dir, "vault-file.yml");
    writeFileSync(plain, `vault_api_token: ${FILE_SECRET}\n`);
    const encrypted = spawnSync("ansible-vault", ["encrypt", `--vault-password-file=${passwordFile}`, "--output", join(inventory, "group_vars", "app-production", "vault.yml"), plain], { encoding: "utf8" });
    assert.equal(encrypted.status, 0, encrypted.stderr);
  });

  after(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("vault values (inline 1.1 and 1.2 with an id, and a whole vault file) stay out of the tarball", (t) => {
    if (dir === "") {
      t.skip("ansible-vault not installed (developer laptop); CI fails here");
      return;
    }
    const result = plc(["build", "-i", inventory, "--vault-password-file", passwordFile, "prefix=app", "instance=production", "-o", "out"]);
    assert.equal(result.status, 0, result.stderr);
    const files = readdirSync(join(dir, "out"));
    const tarball = files.find((f) => f.endsWith(".tar.gz")) ?? "";
    const secretsFile = files.find((f) => f.endsWith(".secrets.env")) ?? "";
    const tar = gunzipSync(readFileSync(join(dir, "out", tarball))).toString("latin1");
    for (const secret of [SECRET_KEY, BACKUP_PASSWORD, FILE_SECRET]) {
      assert.ok(!tar.includes(Buffer.from(secret).toString("latin1")), `tarball holds ${secret}`);
    }
    assert.ok(tar.includes("PUBLIC_URL=https://app.example.com"), "non-secret env stays in the bundle");
    const secrets = readFileSync(join(dir, "out", secretsFile), "utf8");
    assert.equal(statSync(join(dir, "out", secretsFile)).mode & 0o777, 0o600);
    assert.ok(secrets.includes("SECRET_KEY='vaulted django key '\\''with quotes'\\'' $(and a subshell)'"));
    assert.ok(secrets.includes(`PLC_BACKUP_PASSWORD='${BACKUP_PASSWORD}'`));
    assert.ok(secrets.includes(`API_TOKEN='${FILE_SECRET}'`));
    assert.match(tar, /"secrets": \[\s*"API_TOKEN",\s*"SECRET_KEY",\s*"PLC_BACKUP_PASSWORD"\s*\]/);
  });

  it("ANSIBLE_VAULT_PASSWORD_FILE works like --vault-password-file; check and explain mask secrets", (t) => {
    if (dir === "") {
      t.skip("ansible-vault not installed (developer laptop); CI fails here");
      return;
    }
    const env = { ANSIBLE_VAULT_PASSWORD_FILE: passwordFile };
    for (const command of ["check", "explain"]) {
      const result = plc([command, "-i", inventory, "prefix=app", "instance=production"], env);
      assert.equal(result.status, 0, result.stderr);
      for (const secret of [SECRET_KEY, BACKUP_PASSWORD, FILE_SECRET]) assert.ok(!result.stdout.includes(secret), `${command} prints ${secret}`);
      assert.match(result.stdout, /\*{8}/);
    }
  });

  it("a wrong vault password is an error naming the file and line of the value, never an empty value", (t) => {
    if (dir === "") {
      t.skip("ansible-vault not installed (developer laptop); CI fails here");
      return;
    }
    const wrong = join(dir, "wrong-password");
    writeFileSync(wrong, "not it\n");
    const result = plc(["build", "-i", inventory, "--vault-password-file", wrong, "prefix=app", "instance=production", "-o", "wrong-out"]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /error\[vault-error\]/);
    assert.match(result.stderr, /group_vars\/all\/app\.yml:5:\d+/);
    assert.match(result.stderr, /cannot decrypt app_production_env\.SECRET_KEY/);
    assert.match(result.stderr, /group_vars\/app-production\/vault\.yml:1:1/);
    assert.ok(!readdirSync(dir).includes("wrong-out"));
  });

  it("--embed-secrets puts them in the tarball, and only then", (t) => {
    if (dir === "") {
      t.skip("ansible-vault not installed (developer laptop); CI fails here");
      return;
    }
    const result = plc(["build", "-i", inventory, "--vault-password-file", passwordFile, "--embed-secrets", "prefix=app", "instance=production", "-o", "embedded"]);
    assert.equal(result.status, 0, result.stderr);
    const files = readdirSync(join(dir, "embedded"));
    assert.deepEqual(files.filter((f) => f.endsWith(".secrets.env")), []);
    const tar = gunzipSync(readFileSync(join(dir, "embedded", files[0] ?? ""))).toString("utf8");
    assert.ok(tar.includes("secrets.env"));
    assert.ok(tar.includes(BACKUP_PASSWORD));
  });
});

describe("--embed-secrets artifacts", () => {
  it("are readable by their owner only: tarball 0600, .run 0700, the secrets.env entry 0600; plc verify passes", () => {
    const dir = mkdtempSync(join(tmpdir(), "plc-embed-"));
    try {
      const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
      const built = run(["build", "-o", "emb", "--embed-secrets", "--self-extracting", "image=app:v1", "env.S=EMBEDDEDSECRET", "secret_env=S", "backup_password=bpw"]);
      assert.equal(built.status, 0, built.stderr);
      const files = readdirSync(join(dir, "emb"));
      const tarball = join(dir, "emb", files.find((f) => f.endsWith(".tar.gz")) ?? "");
      const runFile = join(dir, "emb", files.find((f) => f.endsWith(".run")) ?? "");
      assert.equal(statSync(tarball).mode & 0o777, 0o600);
      assert.equal(statSync(runFile).mode & 0o777, 0o700);
      const entry = readEntries(readFileSync(tarball)).find((e) => e.path.endsWith("/secrets.env"));
      assert.equal(entry?.mode, 0o600);
      assert.ok(entry.content.toString("utf8").includes("EMBEDDEDSECRET"));
      const manifest = JSON.parse(readEntries(readFileSync(tarball)).find((e) => e.path.endsWith("/MANIFEST.json"))?.content.toString("utf8") ?? "{}") as { files: { path: string; mode: string }[] };
      assert.equal(manifest.files.find((f) => f.path === "secrets.env")?.mode, "0600");
      const verified = run(["verify", tarball]);
      assert.equal(verified.status, 0, verified.stderr);
      // Without secrets inside, the tarball stays public.
      const plain = run(["build", "-o", "plain", "--embed-secrets", "image=app:v1"]);
      assert.equal(plain.status, 0, plain.stderr);
      const plainTarball = join(dir, "plain", readdirSync(join(dir, "plain")).find((f) => f.endsWith(".tar.gz")) ?? "");
      assert.equal(statSync(plainTarball).mode & 0o777, 0o644);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fixtures", () => {
  for (const name of fixtureNames()) {
    const fixture = readFixture(name);
    if (fixture.secrets === undefined) continue;
    it(`${name}: no secret value in the tarball`, () => {
      const compiled = compileFixture(fixture);
      const tar = gunzipSync(tgzBytes(compiled.packed));
      for (const secret of fixture.secrets ?? []) assert.equal(tar.indexOf(Buffer.from(secret)), -1, `${name}: tarball holds ${secret}`);
      const kept = compiled.bundle.secrets.map((s) => s.value).join("\n");
      for (const secret of fixture.secrets ?? []) assert.ok(kept.includes(secret), `${name}: ${secret} is in the secrets file`);
    });
  }
});
