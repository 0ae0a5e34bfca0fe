// A restic repository whose key opens fast. restic calibrates scrypt to ~0.5 s of CPU at init and
// pays it on every command; a suite running a few hundred restic commands on two cores cannot.
// So one repository is made by the real `restic init` per test process, and its master key is
// re-wrapped in a key file with cheap scrypt parameters (restic reads N, r, p from the key file).
// Tests that exercise `restic init` itself (backup.sh on an empty host) do not use this.
import { spawnSync } from "node:child_process";
import { createCipheriv, createHash, randomBytes, scryptSync } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const templates = new Map<string, string>();
process.on("exit", () => {
  for (const dir of templates.values()) rmSync(dir, { recursive: true, force: true });
});

function littleEndian(bytes: Buffer): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  return value;
}

/** Poly1305 (RFC 8439) over msg with the one-time key r||s. */
function poly1305(r16: Buffer, s16: Buffer, msg: Buffer): Buffer {
  const p = (1n << 130n) - 5n;
  const r = littleEndian(r16) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    acc = ((acc + littleEndian(Buffer.concat([msg.subarray(i, i + 16), Buffer.from([1])]))) * r) % p;
  }
  acc = (acc + littleEndian(s16)) & ((1n << 128n) - 1n);
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) out[i] = Number((acc >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** restic's crypto.Encrypt: IV || AES-256-CTR(plaintext) || Poly1305-AES(ciphertext, nonce IV). */
function resticEncrypt(key: Buffer, plaintext: Buffer): Buffer {
  const encryption = key.subarray(0, 32);
  const macK = key.subarray(32, 48);
  const macR = key.subarray(48, 64);
  const iv = randomBytes(16);
  const ctr = createCipheriv("aes-256-ctr", encryption, iv);
  const ciphertext = Buffer.concat([ctr.update(plaintext), ctr.final()]);
  const ecb = createCipheriv("aes-128-ecb", macK, null).setAutoPadding(false);
  const s = Buffer.concat([ecb.update(iv), ecb.final()]);
  return Buffer.concat([iv, ciphertext, poly1305(macR, s, ciphertext)]);
}

function restic(repository: string, password: string, args: string[]): string {
  const result = spawnSync("restic", ["--no-cache", ...args], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", RESTIC_REPOSITORY: repository, RESTIC_PASSWORD: password },
  });
  if (result.status !== 0) throw new Error(`restic ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

/** An empty repository (made by restic init) whose only key opens in milliseconds. */
export function fastRepository(password: string): string {
  const cached = templates.get(password);
  if (cached !== undefined) return join(cached, "restic");
  const dir = mkdtempSync(join(tmpdir(), "plc-restic-"));
  const repository = join(dir, "restic");
  restic(repository, password, ["init", "--quiet"]);
  const masterKey = restic(repository, password, ["cat", "masterkey"]);
  const [slowKey] = readdirSync(join(repository, "keys"));
  const salt = randomBytes(64);
  const params = { N: 1024, r: 8, p: 1 };
  const userKey = scryptSync(password, salt, 64, params);
  const key = JSON.stringify({
    created: "2020-01-01T00:00:00Z",
    username: "root",
    hostname: "plc-sandbox",
    kdf: "scrypt",
    ...params,
    salt: salt.toString("base64"),
    data: resticEncrypt(userKey, Buffer.from(masterKey.trim())).toString("base64"),
  });
  writeFileSync(join(repository, "keys", createHash("sha256").update(key).digest("hex")), key, { mode: 0o400 });
  rmSync(join(repository, "keys", slowKey ?? "none"), { force: true });
  restic(repository, password, ["cat", "config"]); // opens with the new key, or throws
  templates.set(password, dir);
  return repository;
}

/** Copies a fast repository to a directory (the host's <home>/restic, seen from outside). */
export function copyFastRepository(password: string, target: string): void {
  cpSync(fastRepository(password), target, { recursive: true, preserveTimestamps: true });
}

/** Puts a fast repository at <home>/restic on a sandbox host, before its first backup. */
export function seedRepository(host: { path(path: string): string }, home: string, password: string): void {
  copyFastRepository(password, host.path(`${home}/restic`));
}
