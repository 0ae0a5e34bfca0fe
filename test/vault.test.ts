// Ansible Vault compatibility: our decryptVault against vaults written by the real ansible-vault,
// and the real ansible-vault against vaults written by our encryptVault.
// (`void`: node:test reports failures itself, the returned promises need no handling.)
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createCipheriv, createHmac, pbkdf2Sync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  VaultError,
  decryptVault,
  encryptVault,
  isVaultText,
  parseVaultPasswordFile,
  type VaultSecret,
} from "../compiler/load/vault.js";

const PASSWORD = "correct horse battery staple";
const OTHER_PASSWORD = "hunter2";
const MULTILINE_UNICODE = "line one\nçà ünïcödé 🔐 日本語\n  indented: yes\n\ttab\n";
const SALT = Buffer.from("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "hex");

const hasTool = spawnSync("ansible-vault", ["--version"], { stdio: "ignore" }).status === 0;

// Fails in CI, where a missing ansible-vault means .ci/run is broken; skips on a laptop.
function requireAnsible(t: TestContext): boolean {
  if (!hasTool) {
    if (process.env["CI"]) assert.fail("ansible-vault missing: .ci/run must install ansible-core");
    t.skip("ansible-vault not installed (developer laptop); CI fails here");
  }
  return hasTool;
}

function assertVaultError(fn: () => unknown, reason: VaultError["reason"], forbidden: readonly string[] = []): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof VaultError, `expected a VaultError, got ${String(error)}`);
    assert.equal(error.reason, reason, error.message);
    for (const text of forbidden) assert.ok(!error.message.includes(text), "the message leaks a secret");
    return true;
  });
}

// Re-hexlifies the envelope after editing the inner "salt\nhmac\nciphertext" text, to forge vaults.
function editPayload(vault: string, edit: (inner: string) => string): string {
  const [header = "", ...body] = vault.trim().split("\n");
  const inner = Buffer.from(body.join(""), "hex").toString("latin1");
  return `${header}\n${Buffer.from(edit(inner), "latin1").toString("hex")}\n`;
}

// An independent, minimal sealer so tests can build vaults encryptVault cannot (binary, bad padding).
function sealBytes(padded: Buffer, password: string): string {
  const derived = pbkdf2Sync(password, SALT, 10000, 80, "sha256");
  const cipher = createCipheriv("aes-256-ctr", derived.subarray(0, 32), derived.subarray(64));
  const ciphertext = Buffer.concat([cipher.update(padded), cipher.final()]);
  const hmac = createHmac("sha256", derived.subarray(32, 64)).update(ciphertext).digest("hex");
  const inner = `${SALT.toString("hex")}\n${hmac}\n${ciphertext.toString("hex")}`;
  return `$ANSIBLE_VAULT;1.1;AES256\n${Buffer.from(inner).toString("hex")}\n`;
}

void describe("vault without ansible", () => {
  void it("round-trips multiline, unicode, empty and BOM-led plaintext in 1.1 and 1.2", () => {
    const texts = [MULTILINE_UNICODE, "", "x", "sixteen bytes!!!", "\uFEFFbom first", "no trailing newline"];
    for (const id of [undefined, "prod"]) {
      const secret: VaultSecret = { id, password: PASSWORD };
      for (const text of texts) {
        assert.equal(decryptVault(encryptVault(text, secret), [secret]), text);
      }
    }
  });

  void it("writes ansible's envelope: 1.1 without an id, 1.2 with one, 80 columns, final newline", () => {
    const plain = encryptVault(MULTILINE_UNICODE.repeat(4), { id: undefined, password: PASSWORD }, SALT);
    const lines = plain.split("\n");
    assert.equal(lines[0], "$ANSIBLE_VAULT;1.1;AES256");
    assert.equal(lines.at(-1), "");
    assert.ok(lines.slice(1, -2).every((line) => line.length === 80));
    assert.ok((lines.at(-2) ?? "").length <= 80);
    assert.match(encryptVault("x", { id: "default", password: PASSWORD }), /^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    assert.match(encryptVault("x", { id: "prod", password: PASSWORD }), /^\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
    // A fixed salt makes the output reproducible, which fixture generation relies on.
    assert.equal(encryptVault("x", { id: "prod", password: PASSWORD }, SALT), encryptVault("x", { id: "prod", password: PASSWORD }, SALT));
    assert.throws(() => encryptVault("x", { id: "a;b", password: PASSWORD }), RangeError);
    assert.throws(() => encryptVault("x", { id: undefined, password: "" }), RangeError);
  });

  void it("tolerates YAML indentation, blank lines and CRLF around the vault text", () => {
    const vault = encryptVault(MULTILINE_UNICODE, { id: "prod", password: PASSWORD });
    const indented = "\n\n" + vault.split("\n").map((line) => `          ${line}`).join("\n") + "\n   \n";
    const secrets = [{ id: "prod", password: PASSWORD }];
    assert.equal(decryptVault(indented, secrets), MULTILINE_UNICODE);
    assert.equal(decryptVault(vault.replaceAll("\n", "\r\n"), secrets), MULTILINE_UNICODE);
    assert.ok(isVaultText(indented));
  });

  void it("tries every secret, the one labelled with the vault id first", () => {
    const vault = encryptVault("s3cret", { id: "prod", password: PASSWORD });
    const wrongDev = { id: "dev", password: OTHER_PASSWORD };
    assert.equal(decryptVault(vault, [wrongDev, { id: "prod", password: PASSWORD }]), "s3cret");
    // The header's id is an unauthenticated hint, so a differently labelled right password works.
    assert.equal(decryptVault(vault, [wrongDev, { id: "other", password: PASSWORD }]), "s3cret");
    assert.equal(decryptVault(encryptVault("s3cret", { id: undefined, password: PASSWORD }), [wrongDev, { id: "x", password: PASSWORD }]), "s3cret");
  });

  void it("rejects a wrong password or no password without leaking either", () => {
    const vault = encryptVault("top secret plaintext", { id: "prod", password: PASSWORD });
    assertVaultError(() => decryptVault(vault, [{ id: "prod", password: OTHER_PASSWORD }]), "wrong-password", [
      OTHER_PASSWORD,
      PASSWORD,
      "top secret",
    ]);
    assertVaultError(() => decryptVault(vault, []), "wrong-password");
  });

  void it("detects a tampered ciphertext or HMAC through the HMAC", () => {
    const secret = { id: undefined, password: PASSWORD };
    const vault = encryptVault(MULTILINE_UNICODE, secret);
    const flip = (hex: string): string => (hex.startsWith("0") ? "1" : "0") + hex.slice(1);
    const badCiphertext = editPayload(vault, (inner) => {
      const [salt = "", hmac = "", ciphertext = ""] = inner.split("\n");
      return `${salt}\n${hmac}\n${flip(ciphertext)}`;
    });
    const badHmac = editPayload(vault, (inner) => {
      const [salt = "", hmac = "", ciphertext = ""] = inner.split("\n");
      return `${salt}\n${flip(hmac)}\n${ciphertext}`;
    });
    assertVaultError(() => decryptVault(badCiphertext, [secret]), "wrong-password");
    assertVaultError(() => decryptVault(badHmac, [secret]), "wrong-password");
  });

  void it("reports malformed, unsupported and non-vault text by reason", () => {
    const secrets = [{ id: undefined, password: PASSWORD }];
    const vault = encryptVault("x", secrets[0] ?? { id: undefined, password: PASSWORD });
    const [header = "", ...body] = vault.trim().split("\n");
    const cases: [string, VaultError["reason"]][] = [
      ["plain: yaml\n", "not-vault"],
      ["", "not-vault"],
      [header + "\n", "malformed"],
      [`${header}\n${body.join("\n")}zz\n`, "malformed"],
      [`${header}\n${body.join("\n")}0\n`, "malformed"],
      [editPayload(vault, (inner) => inner.split("\n").slice(0, 2).join("\n")), "malformed"],
      [editPayload(vault, (inner) => inner + "\n00"), "malformed"],
      [editPayload(vault, (inner) => inner.replace(/\n[0-9a-f]{64}\n/, "\nabcd\n")), "malformed"],
      [editPayload(vault, (inner) => inner.replace(/\n([0-9a-f]{64})\n/, "\n$1\nxx")), "malformed"],
      [vault.replace("AES256", "AES"), "unsupported"],
      [vault.replace("1.1", "2.0"), "unsupported"],
    ];
    for (const [text, reason] of cases) assertVaultError(() => decryptVault(text, secrets), reason);
  });

  void it("rejects correctly signed vaults with bad padding or non-UTF-8 plaintext as malformed", () => {
    const secrets = [{ id: undefined, password: PASSWORD }];
    const padded = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc(16 - (data.length % 16), 16 - (data.length % 16))]);
    assert.equal(decryptVault(sealBytes(padded(Buffer.from("ok")), PASSWORD), secrets), "ok");
    assertVaultError(() => decryptVault(sealBytes(padded(Buffer.from([0xff, 0xfe, 0x41])), PASSWORD), secrets), "malformed");
    assertVaultError(() => decryptVault(sealBytes(Buffer.alloc(16, 0), PASSWORD), secrets), "malformed");
    assertVaultError(() => decryptVault(sealBytes(Buffer.alloc(16, 17), PASSWORD), secrets), "malformed");
  });

  void it("recognises vault text by its header", () => {
    assert.ok(isVaultText("$ANSIBLE_VAULT;1.1;AES256\n"));
    assert.ok(isVaultText("  \n$ANSIBLE_VAULT;1.2;AES256;prod\n"));
    assert.ok(!isVaultText("ANSIBLE_VAULT;1.1;AES256"));
    assert.ok(!isVaultText("key: $ANSIBLE_VAULT;1.1"));
  });

  void it("trims password files the way ansible does", () => {
    assert.deepEqual(parseVaultPasswordFile("pw\n"), { id: undefined, password: "pw" });
    assert.deepEqual(parseVaultPasswordFile("  two words \r\n\n", "prod"), { id: "prod", password: "two words" });
    // Python strips bytes, so a non-ASCII space is part of the password.
    assert.equal(parseVaultPasswordFile("\u00A0pw\n").password, "\u00A0pw");
    assertVaultError(() => parseVaultPasswordFile(" \n"), "malformed");
  });
});

void describe("vault against the real ansible-vault", () => {
  let dir = "";
  let passwordFile = "";
  // Surrounding whitespace in the file checks that we trim passwords exactly like ansible.
  const passwordFileContent = `  ${PASSWORD} \r\n`;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "plc-vault-"));
    passwordFile = join(dir, "password");
    writeFileSync(passwordFile, passwordFileContent);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function ansibleVault(args: readonly string[]): string {
    return execFileSync("ansible-vault", args, {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      // ansible refuses non-UTF-8 locales; its home and temp dirs stay inside the test's directory.
      env: { ...process.env, LC_ALL: "C.UTF-8", ANSIBLE_HOME: dir, ANSIBLE_LOCAL_TEMP: dir, ANSIBLE_CONFIG: join(dir, "none.cfg") },
    });
  }

  // encrypt_string prints "!vault |" and the indented vault, exactly what a YAML file holds.
  function encryptString(plaintext: string, idArgs: readonly string[]): string {
    const output = ansibleVault(["encrypt_string", ...idArgs, plaintext]);
    assert.match(output, /^!vault \|\n/);
    return output.slice(output.indexOf("\n") + 1);
  }

  void it("decrypts encrypt_string output, format 1.1 via --vault-password-file", (t) => {
    if (!requireAnsible(t)) return;
    const vault = encryptString(MULTILINE_UNICODE, ["--vault-password-file", passwordFile]);
    assert.match(vault, /^ +\$ANSIBLE_VAULT;1\.1;AES256\n/);
    assert.equal(decryptVault(vault, [parseVaultPasswordFile(passwordFileContent)]), MULTILINE_UNICODE);
    assertVaultError(() => decryptVault(vault, [{ id: undefined, password: PASSWORD + " " }]), "wrong-password");
  });

  void it("decrypts encrypt_string output, format 1.2 via --vault-id label@file", (t) => {
    if (!requireAnsible(t)) return;
    const vault = encryptString("db-password-é", ["--vault-id", `prod@${passwordFile}`]);
    assert.match(vault, /^ +\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
    const secrets = [{ id: "dev", password: OTHER_PASSWORD }, parseVaultPasswordFile(passwordFileContent, "prod")];
    assert.equal(decryptVault(vault, secrets), "db-password-é");
    assertVaultError(() => decryptVault(vault, [{ id: "prod", password: OTHER_PASSWORD }]), "wrong-password", [OTHER_PASSWORD]);
  });

  void it("decrypts files from ansible-vault encrypt, formats 1.1 and 1.2", (t) => {
    if (!requireAnsible(t)) return;
    const content = "---\nprefix: shop\nsecret_key: \"ünïcode 🔐\"\n" + "long_value: " + "x".repeat(300) + "\n";
    const secret = parseVaultPasswordFile(readFileSync(passwordFile, "utf8"));
    for (const idArgs of [["--vault-password-file", passwordFile], ["--vault-id", `staging@${passwordFile}`]]) {
      const file = join(dir, "vars.yml");
      writeFileSync(file, content);
      ansibleVault(["encrypt", ...idArgs, file]);
      const vault = readFileSync(file, "utf8");
      assert.ok(isVaultText(vault));
      assert.equal(decryptVault(vault, [secret]), content);
    }
  });

  void it("flags binary plaintext from ansible-vault encrypt as malformed", (t) => {
    if (!requireAnsible(t)) return;
    const file = join(dir, "binary");
    writeFileSync(file, Buffer.from([0x00, 0xff, 0xfe, 0x80]));
    ansibleVault(["encrypt", "--vault-password-file", passwordFile, file]);
    assertVaultError(() => decryptVault(readFileSync(file, "utf8"), [{ id: undefined, password: PASSWORD }]), "malformed");
  });

  void it("writes vaults that ansible-vault decrypt opens, formats 1.1 and 1.2", (t) => {
    if (!requireAnsible(t)) return;
    const cases: [VaultSecret, string[]][] = [
      [{ id: undefined, password: PASSWORD }, ["--vault-password-file", passwordFile]],
      [{ id: "prod", password: PASSWORD }, ["--vault-id", `prod@${passwordFile}`]],
    ];
    for (const [secret, idArgs] of cases) {
      for (const text of [MULTILINE_UNICODE, "single line without newline"]) {
        const file = join(dir, "ours.vault");
        writeFileSync(file, encryptVault(text, secret));
        assert.equal(ansibleVault(["decrypt", ...idArgs, "--output", "-", file]), text);
      }
    }
  });
});
