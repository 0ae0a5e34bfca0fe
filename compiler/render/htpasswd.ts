// Basic-auth entries for nginx: salted SHA-1 ({SSHA}), never {PLAIN}.
import { createHash, createHmac } from "node:crypto";

/**
 * Hashes one password. The salt is derived from the password and user so that rebuilding the
 * same inputs gives the same bytes (reproducible bundles) while two users never share a salt.
 */
export function hashHtpasswd(user: string, password: string): string {
  const salt = createHmac("sha256", password).update(`plc-htpasswd:${user}`).digest().subarray(0, 8);
  const digest = createHash("sha1").update(password, "utf8").update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString("base64")}`;
}
