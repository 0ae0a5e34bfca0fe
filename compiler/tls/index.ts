// HTTPS decisions: which certificate source, which ACME directory, whether HSTS may be sent.
// Pure: validate calls it with the validated variables; render and the templates read its result.
import { diagnostic, type Diagnostic } from "../diagnostics.js";
import type { Origin, TlsPlan } from "../types.js";

export const LETSENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory";
export const LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";

/** playlabs' inventories name ACME v1 directories, switched off by Let's Encrypt in 2021: their v2 successors. */
const V1_DIRECTORIES: Record<string, string> = {
  "https://acme-v01.api.letsencrypt.org/directory": LETSENCRYPT_PRODUCTION,
  "https://acme-staging.api.letsencrypt.org/directory": LETSENCRYPT_STAGING,
};

/** Certificates of these directories are not trusted by browsers: no HSTS with them. */
const UNTRUSTED_DIRECTORIES = new Set([LETSENCRYPT_STAGING]);

export interface TlsInput {
  vars: Record<string, unknown>;
  dns: string[];
  dnsRedirect: string[];
  originOf: (pointer: string) => Origin | undefined;
}

/** The TLS plan of a spec, with the notes it makes (a v1 URL mapped) and the problems it finds. */
export function planTls(input: TlsInput): { plan: TlsPlan; notes: string[]; problems: Diagnostic[] } {
  const { vars, originOf } = input;
  const notes: string[] = [];
  const problems: Diagnostic[] = [];
  const email = vars["letsencrypt_email"] as string | undefined;
  const given = vars["tls"] as TlsPlan["mode"] | undefined;
  const names = [...input.dns, ...input.dnsRedirect];
  // playlabs: letsencrypt_email set means certificates from Let's Encrypt, for a vhost that can have
  // one: a project without dns, or with a wildcard HTTP-01 cannot prove, keeps plain HTTP (a note).
  const implied = email === undefined ? "off" : input.dns.length === 0 ? "off" : names.some((name) => name.startsWith("*.")) ? "off" : "acme";
  if (given === undefined && email !== undefined && implied === "off" && input.dns.length > 0) {
    notes.push("letsencrypt_email is set, but a wildcard name cannot get a certificate over HTTP-01: HTTPS stays off (give tls=files with a wildcard certificate)");
  }
  const mode = given ?? implied;
  const certificate = vars["tls_certificate"] as string | undefined;
  const key = vars["tls_key"] as string | undefined;
  const directory = mode === "acme" ? acmeDirectory(vars, notes) : undefined;
  const caRoots = vars["acme_ca_roots"] as string | undefined;

  if (mode !== "off" && input.dns.length === 0) {
    problems.push(
      diagnostic("tls-without-dns", { mode }, { origin: originOf(given === undefined ? "/letsencrypt_email" : "/tls"), variable: given === undefined ? "letsencrypt_email" : "tls" }),
    );
  }
  // HTTP-01, the only challenge the host answers, cannot prove a wildcard (RFC 8555 section 7.1.3).
  const wildcard = mode === "acme" ? names.find((name) => name.startsWith("*.")) : undefined;
  if (wildcard !== undefined) {
    problems.push(
      diagnostic("tls-acme-wildcard", { name: wildcard }, { origin: originOf(input.dns.includes(wildcard) ? "/dns" : "/dns_redirect"), variable: input.dns.includes(wildcard) ? "dns" : "dns_redirect" }),
    );
  }
  if (mode === "files") {
    for (const [variable, value] of [["tls_certificate", certificate], ["tls_key", key]] as const) {
      if (value !== undefined) continue;
      problems.push(
        diagnostic("tls-files-missing", { variable }, { origin: originOf("/tls"), variable }),
      );
    }
  } else {
    for (const [variable, value] of [["tls_certificate", certificate], ["tls_key", key]] as const) {
      if (value === undefined) continue;
      problems.push(
        diagnostic("tls-files-unused", { variable, mode }, { origin: originOf(`/${variable}`), variable }),
      );
    }
  }
  if (caRoots !== undefined && mode !== "acme") {
    problems.push(
      diagnostic("tls-ca-roots-unused", { mode }, { origin: originOf("/acme_ca_roots"), variable: "acme_ca_roots" }),
    );
  }
  const isTrusted = mode === "files" || (mode === "acme" && directory !== undefined && !UNTRUSTED_DIRECTORIES.has(directory));
  return {
    plan: {
      mode,
      names,
      directory,
      email,
      caRoots: caRoots === undefined ? undefined : `${caRoots.trim()}\n`,
      isTrusted,
      hstsMaxAge: isTrusted ? (vars["hsts_max_age"] as number) : 0,
      certificate: certificate === undefined ? undefined : `${certificate.trim()}\n`,
      key: key === undefined ? undefined : `${key.trim()}\n`,
    },
    notes,
    problems,
  };
}

/** acme_directory, else playlabs' letsencrypt_uri, else Let's Encrypt production. */
function acmeDirectory(vars: Record<string, unknown>, notes: string[]): string {
  const written = (vars["acme_directory"] as string | undefined) ?? (vars["letsencrypt_uri"] as string | undefined);
  if (written === undefined || written === "production") return LETSENCRYPT_PRODUCTION;
  if (written === "staging") return LETSENCRYPT_STAGING;
  const successor = V1_DIRECTORIES[written];
  if (successor === undefined) return written;
  notes.push(`ACME v1 directory ${written} no longer exists: using its v2 successor ${successor}`);
  return successor;
}

/**
 * The nginx form that turns HTTP/2 on: `http2 on;` from nginx 1.25.1 (the listen parameter is deprecated
 * there), `listen … http2` before. install.sh asks the host's nginx; this is the same rule, for tests and docs.
 */
export function http2Form(nginxVersion: string): "directive" | "listen" {
  const [major = 0, minor = 0, patch = 0] = nginxVersion.split(".").map(Number);
  return major > 1 || (major === 1 && (minor > 25 || (minor === 25 && patch >= 1))) ? "directive" : "listen";
}
