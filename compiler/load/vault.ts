// Ansible Vault (format 1.1 and 1.2, AES256) decryption and encryption,
// byte-compatible with ansible-core's lib/ansible/parsing/vault.
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";

/** A vault password, optionally labelled with the vault id it belongs to. */
export interface VaultSecret {
  id: string | undefined; // undefined = ansible's "default" identity
  password: string;
}

export type VaultErrorReason = "not-vault" | "malformed" | "wrong-password" | "unsupported";

/** Why a vault could not be opened; the message never holds a password or plaintext. */
export class VaultError extends Error {
  readonly reason: VaultErrorReason;

  constructor(reason: VaultErrorReason, message: string) {
    super(message);
    this.name = "VaultError";
    this.reason = reason;
  }
}

const HEADER = "$ANSIBLE_VAULT;";
// ansible's C.DEFAULT_VAULT_IDENTITY: what a secret without a label, and a 1.1 vault, are called.
const DEFAULT_ID = "default";
const KEY_LENGTH = 32;
const IV_LENGTH = 16;
const HMAC_LENGTH = 32;
const BLOCK = 16;
const ITERATIONS = 10000;
const LINE_WIDTH = 80;
// Python's bytes.strip() set: ansible strips these, and only these, from password files.
const ASCII_SPACE = "[ \\t\\n\\r\\v\\f]";
const EDGE_SPACE = new RegExp(`^${ASCII_SPACE}+|${ASCII_SPACE}+$`, "g");
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

interface Envelope {
  vaultId: string | undefined;
  salt: Buffer;
  hmac: Buffer;
  ciphertext: Buffer;
}

interface DerivedKeys {
  cipherKey: Buffer;
  hmacKey: Buffer;
  iv: Buffer;
}

// Recognise vault text (a file's content or a `!vault |` scalar) without decrypting it.
export function isVaultText(text: string): boolean {
  // Leading blank lines or indentation come from YAML block scalars and are harmless.
  return text.trimStart().startsWith(HEADER);
}

// Open vault text with the first secret whose HMAC matches, the way ansible picks secrets.
export function decryptVault(text: string, secrets: readonly VaultSecret[]): string {
  const envelope = parseEnvelope(text);
  if (secrets.length === 0) {
    throw new VaultError("wrong-password", "no vault password was given to decrypt this vault");
  }
  for (const secret of orderSecrets(secrets, envelope.vaultId)) {
    const keys = deriveKeys(secret.password, envelope.salt);
    if (isHmacValid(keys.hmacKey, envelope.ciphertext, envelope.hmac)) {
      return decodeUtf8(unpad(applyCtr(keys, envelope.ciphertext, "decrypt")));
    }
  }
  const label = envelope.vaultId === undefined ? "" : ` (vault id "${envelope.vaultId}")`;
  throw new VaultError("wrong-password", `none of the ${secrets.length} vault password(s) can decrypt this vault${label}`);
}

// Read a --vault-password-file's content into a secret, trimmed exactly as ansible trims it.
export function parseVaultPasswordFile(content: string, id?: string): VaultSecret {
  // ansible does `f.read().strip()`: all leading and trailing ASCII whitespace goes, not just one
  // newline, and Unicode spaces (NBSP, BOM) stay because Python strips bytes, not text.
  const password = content.replace(EDGE_SPACE, "");
  if (password === "") {
    throw new VaultError("malformed", "the vault password file is empty");
  }
  return { id, password };
}

// Produce vault text that ansible-vault can decrypt; pass a salt only for reproducible fixtures.
export function encryptVault(plaintext: string, secret: VaultSecret, salt?: Buffer): string {
  if (secret.password === "") {
    throw new RangeError("refusing to encrypt with an empty vault password (ansible refuses it too)");
  }
  if (secret.id !== undefined && /[;\s]/.test(secret.id)) {
    // The id is written into the ';'-separated header line, so it cannot hold ';' or a line break.
    throw new RangeError("a vault id cannot contain ';' or whitespace");
  }
  const useSalt = salt ?? randomBytes(32);
  if (useSalt.length === 0) {
    throw new RangeError("the vault salt cannot be empty");
  }
  const keys = deriveKeys(secret.password, useSalt);
  const ciphertext = applyCtr(keys, pad(Buffer.from(plaintext, "utf8")), "encrypt");
  const hmac = createHmac("sha256", keys.hmacKey).update(ciphertext).digest();
  // The payload is hexlified twice; ansible keeps that for backwards compatibility, so must we.
  const inner = [useSalt.toString("hex"), hmac.toString("hex"), ciphertext.toString("hex")].join("\n");
  const payload = Buffer.from(inner, "latin1").toString("hex");
  // Like ansible, a "default" id is no id at all and keeps the older 1.1 header.
  const hasId = secret.id !== undefined && secret.id !== "" && secret.id !== DEFAULT_ID;
  const header = hasId ? `${HEADER}1.2;AES256;${secret.id ?? ""}` : `${HEADER}1.1;AES256`;
  const lines = [header];
  for (let i = 0; i < payload.length; i += LINE_WIDTH) {
    lines.push(payload.slice(i, i + LINE_WIDTH));
  }
  return lines.join("\n") + "\n";
}

function parseEnvelope(text: string): Envelope {
  if (!isVaultText(text)) {
    throw new VaultError("not-vault", "the text does not start with $ANSIBLE_VAULT;");
  }
  // Trimming each line tolerates YAML indentation, CRLF files and trailing blanks; hex has no spaces.
  const lines = text.split(/\r\n|\r|\n/).map((line) => line.trim()).filter((line) => line !== "");
  const headerFields = (lines[0] ?? "").split(";").map((field) => field.trim());
  const version = headerFields[1] ?? "";
  const cipherName = headerFields[2] ?? "";
  if (version !== "1.1" && version !== "1.2") {
    throw new VaultError("unsupported", `vault format version "${version}" is not supported (only 1.1 and 1.2)`);
  }
  if (cipherName !== "AES256") {
    throw new VaultError("unsupported", `vault cipher "${cipherName}" is not supported (only AES256)`);
  }
  // ansible reads a fourth header field as the vault id whatever the version says.
  const rawId = headerFields.at(3);
  const vaultId = rawId === undefined || rawId === "" ? undefined : rawId;

  const outer = unhex(lines.slice(1).join(""), "payload");
  if (outer.length === 0) {
    throw new VaultError("malformed", "the vault has a header but no payload");
  }
  const parts = outer.toString("latin1").split("\n");
  if (parts.length !== 3) {
    throw new VaultError("malformed", `the vault payload has ${parts.length} line(s), expected salt, HMAC and ciphertext`);
  }
  const [saltHex = "", hmacHex = "", cipherHex = ""] = parts;
  const salt = unhex(saltHex, "salt");
  const hmac = unhex(hmacHex, "HMAC");
  const ciphertext = unhex(cipherHex, "ciphertext");
  if (hmac.length !== HMAC_LENGTH) {
    throw new VaultError("malformed", `the vault HMAC is ${hmac.length} bytes, expected ${HMAC_LENGTH}`);
  }
  if (ciphertext.length === 0 || ciphertext.length % BLOCK !== 0) {
    throw new VaultError("malformed", `the vault ciphertext is ${ciphertext.length} bytes, not a whole number of blocks`);
  }
  return { vaultId, salt, hmac, ciphertext };
}

// Buffer.from(x, "hex") silently stops at the first bad digit; ansible's unhexlify rejects it.
function unhex(hex: string, what: string): Buffer {
  if (!HEX.test(hex)) {
    throw new VaultError("malformed", `the vault ${what} is not valid hexadecimal`);
  }
  return Buffer.from(hex, "hex");
}

// The secret labelled with the vault's id goes first, then every other one in the given order:
// the id in the header is an unauthenticated hint, so ansible still tries them all.
function orderSecrets(secrets: readonly VaultSecret[], vaultId: string | undefined): VaultSecret[] {
  const target = vaultId ?? DEFAULT_ID;
  const matches = (secret: VaultSecret): boolean => (secret.id ?? DEFAULT_ID) === target;
  return [...secrets.filter(matches), ...secrets.filter((secret) => !matches(secret))];
}

function deriveKeys(password: string, salt: Buffer): DerivedKeys {
  const derived = pbkdf2Sync(Buffer.from(password, "utf8"), salt, ITERATIONS, 2 * KEY_LENGTH + IV_LENGTH, "sha256");
  return {
    cipherKey: derived.subarray(0, KEY_LENGTH),
    hmacKey: derived.subarray(KEY_LENGTH, 2 * KEY_LENGTH),
    iv: derived.subarray(2 * KEY_LENGTH),
  };
}

function isHmacValid(hmacKey: Buffer, ciphertext: Buffer, expected: Buffer): boolean {
  const actual = createHmac("sha256", hmacKey).update(ciphertext).digest();
  // Constant time, so response timing does not leak how much of a forged HMAC was right.
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function applyCtr(keys: DerivedKeys, data: Buffer, direction: "encrypt" | "decrypt"): Buffer {
  const cipher =
    direction === "encrypt"
      ? createCipheriv("aes-256-ctr", keys.cipherKey, keys.iv)
      : createDecipheriv("aes-256-ctr", keys.cipherKey, keys.iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

// CTR needs no padding, but ansible pads to the AES block size anyway, so the format has it.
function pad(data: Buffer): Buffer {
  const count = BLOCK - (data.length % BLOCK);
  return Buffer.concat([data, Buffer.alloc(count, count)]);
}

function unpad(data: Buffer): Buffer {
  const count = data[data.length - 1] ?? 0;
  const isValid =
    count >= 1 && count <= BLOCK && count <= data.length && data.subarray(data.length - count).every((byte) => byte === count);
  if (!isValid) {
    // The HMAC matched, so this is a correctly signed but badly built vault, not a wrong password.
    throw new VaultError("malformed", "the decrypted vault has invalid PKCS#7 padding");
  }
  return data.subarray(0, data.length - count);
}

function decodeUtf8(data: Buffer): string {
  try {
    // ignoreBOM keeps a leading U+FEFF that was part of the secret instead of silently dropping it.
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data);
  } catch {
    throw new VaultError("malformed", "the decrypted vault is not valid UTF-8 text");
  }
}
