// The strict names of the design: what may reach a path, a unit, a vhost or lftp's command language.
import { isIP } from "node:net";
import type { LftpTarget } from "../types.js";

const DOMAIN = String.raw`(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?`;
const COMPONENT = String.raw`[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`;
// Docker's reference grammar (distribution/reference): [domain/]path[:tag][@digest].
const IMAGE_REFERENCE = new RegExp(
  String.raw`^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`,
);
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export function isImageReference(text: string): boolean {
  return text.length <= 512 && IMAGE_REFERENCE.test(text);
}

/** A DNS name (optionally `*.`-prefixed) or an IP address; nothing nginx would parse as syntax. */
export function isHostName(text: string): boolean {
  if (isIP(text) !== 0) return true;
  const name = text.startsWith("*.") ? text.slice(2) : text;
  if (name.length === 0 || name.length > 253) return false;
  return name.split(".").every((label) => LABEL.test(label));
}

export function isAbsolutePath(text: string): boolean {
  return /^\/[A-Za-z0-9._/-]*$/.test(text) && !text.split("/").some((part) => part === "..") && !text.includes("//");
}

/** Top-level directories of the system: a home there would be chmod 0755'd and purged with it. */
const SYSTEM_TOP = new Set(["bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "lost+found", "proc", "root", "run", "sbin", "sys", "tmp", "usr", "var"]);

/** An instance home: a directory of its own, two components deep at least, outside the system's trees. */
export function isHomePath(text: string): boolean {
  if (!/^\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)+$/.test(text)) return false;
  const parts = text.split("/").slice(1);
  if (parts.some((part) => part === "." || part === "..")) return false;
  return !SYSTEM_TOP.has(parts[0] ?? "");
}

// lftp's command language runs `!cmd`, splits on `;` and whitespace and reads quotes.
const LFTP_UNSAFE = /[\s;!'"`\\&|<>$]/;

/** Parses an ftp/ftps/sftp DSN into parts that are safe on lftp's command line (the password travels apart). */
export function parseLftpDsn(text: string): LftpTarget | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "not a URL (expected sftp://user:password@host/path)";
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (scheme !== "ftp" && scheme !== "ftps" && scheme !== "sftp") return `scheme '${scheme}' is not ftp, ftps or sftp`;
  if (!isHostName(url.hostname.replace(/^\[|\]$/g, ""))) return `'${url.hostname}' is not a host name`;
  let user: string;
  let password: string;
  let path: string;
  try {
    user = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
    path = decodeURIComponent(url.pathname);
  } catch {
    return "malformed percent-encoding";
  }
  if (LFTP_UNSAFE.test(user) || LFTP_UNSAFE.test(path)) {
    return "user and path may not hold whitespace, quotes, backslashes or any of ; ! & | < > $";
  }
  if (url.search !== "" || url.hash !== "") return "a query or fragment has no meaning for lftp";
  if (password.includes("\n") || password.includes("\0")) return "the password may not hold a newline";
  return {
    scheme,
    user: user === "" ? undefined : user,
    password: password === "" ? undefined : password,
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port === "" ? undefined : Number(url.port),
    path: path === "" ? "/" : path,
  };
}

/** `feature/login` -> `feature-login`: what a strict name would have been. */
export function suggestName(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
}

/** NUL and lone surrogates cannot be written to a file faithfully; everything else is quoting's job. */
export function textProblem(text: string): string | undefined {
  if (text.includes("\0")) return "holds a NUL character";
  if (!text.isWellFormed()) return "holds malformed unicode (a lone surrogate)";
  return undefined;
}

/**
 * The reference docker stores for an image name: `app` is `app:latest`, `docker.io/library/app:1`
 * and `index.docker.io/app:1` are `app:1`. Digest references are left as they are.
 */
export function normalizeImageReference(reference: string): string {
  let ref = reference.replace(/^(?:index\.)?docker\.io\//, "");
  if (!ref.includes("@")) {
    const lastSlash = ref.lastIndexOf("/");
    if (!ref.slice(lastSlash + 1).includes(":")) ref = `${ref}:latest`;
  }
  return ref.replace(/^library\//, "");
}
