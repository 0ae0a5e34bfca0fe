// `plc verify`: a built tarball checked against its own MANIFEST.json, SHA256SUMS and id (which covers
// every entry, MANIFEST.json included), in one streaming pass: an image archive of gigabytes is
// hashed as it passes, never held in memory.
import { createHash, type Hash } from "node:crypto";
import { diagnostic, type Diagnostic } from "./diagnostics.js";
import type { ArgsOf, DiagnosticCode } from "./messages.js";

type BundleCode = Extract<DiagnosticCode, `bundle-${string}`>;
import { isManifest, parseManifest, readBundleTarball, type TarEntry } from "./load/bundle.js";
import { bundleId, encodeHeader, manifestText, sumsText, TAR_BLOCK } from "./pack/index.js";
import type { Manifest } from "./types.js";

export interface VerifyReport {
  manifest: Manifest | undefined;
  problems: Diagnostic[];
}

/** The two files the id cannot cover: MANIFEST.json holds the id, SHA256SUMS lists MANIFEST.json. */
const OUTSIDE_ID = new Set(["MANIFEST.json", "SHA256SUMS"]);
/** MANIFEST.json and SHA256SUMS are kilobytes; a bigger one is an attack on memory, not a bundle. */
const MAX_LISTING = 16 * 1024 * 1024;

/**
 * Reads and checks a bundle tarball: one root folder; only regular files and directories, owned by 0,
 * no `..` or absolute path; exactly the files MANIFEST.json lists, with its modes and sha256, and
 * SHA256SUMS agreeing; the id recomputed over every other entry's header and content, then MANIFEST.json.
 */
export function verifyBundleFile(file: string, cwd: string): VerifyReport {
  const hashes = new Map<TarEntry, Hash>();
  const digests = new Map<TarEntry, string>();
  // The id is the sha256 of the payload tar: every entry but the two above, headers as pack writes them.
  const id = createHash("sha256");
  const isPayload = (entry: TarEntry): boolean => !OUTSIDE_ID.has(entry.path);
  const tarball = readBundleTarball(file, cwd, (path, size) => OUTSIDE_ID.has(path) && size <= MAX_LISTING, {
    start(entry) {
      hashes.set(entry, createHash("sha256"));
      if (isPayload(entry)) {
        const type = entry.type === "Directory" ? "Directory" : "File";
        for (const block of encodeHeader({ path: entry.headerPath, mode: entry.mode, size: entry.size, mtime: entry.mtime, type })) id.update(block);
      }
    },
    data(entry, chunk) {
      hashes.get(entry)?.update(chunk);
      if (isPayload(entry)) id.update(chunk);
    },
    end(entry) {
      digests.set(entry, hashes.get(entry)?.digest("hex") ?? "");
      hashes.delete(entry);
      if (isPayload(entry)) id.update(Buffer.alloc((TAR_BLOCK - (entry.size % TAR_BLOCK)) % TAR_BLOCK));
    },
  });
  id.update(Buffer.alloc(TAR_BLOCK * 2));

  const problems: Diagnostic[] = [];
  const problem = <C extends BundleCode>(code: C, args: ArgsOf<C>): void => {
    problems.push(diagnostic(code, args));
  };
  if (tarball.root === "") {
    problem("bundle-roots", { count: tarball.roots.length });
    return { manifest: undefined, problems };
  }
  const files = new Map<string, TarEntry>();
  const seen = new Set<string>();
  const foreignOwners: string[] = [];
  for (const entry of tarball.entries) {
    const name = entry.path === "" ? `${tarball.root}/` : entry.path;
    if (entry.path.startsWith("/") || entry.path.split("/").includes("..")) problem("bundle-path-escapes", { path: name });
    if (seen.has(entry.path)) problem("bundle-duplicate-entry", { path: name });
    seen.add(entry.path);
    if (entry.type !== "File" && entry.type !== "Directory") {
      problem("bundle-entry-type", { path: name, type: entry.type });
      continue;
    }
    if (entry.uid !== 0 || entry.gid !== 0 || entry.uname !== "" || entry.gname !== "") {
      foreignOwners.push(`${name} ${entry.uname || entry.uid}:${entry.gname || entry.gid}`);
    }
    if (entry.type === "File") {
      if (entry.path.endsWith("/SHA256SUMS")) problem("bundle-nested-sums", { path: name });
      files.set(entry.path, entry);
    }
  }
  if (foreignOwners.length > 0) {
    problem("bundle-owners", { count: foreignOwners.length, owners: `${foreignOwners.slice(0, 3).join(", ")}${foreignOwners.length > 3 ? ", …" : ""}` });
  }
  const sums = files.get("SHA256SUMS");
  const manifestEntry = files.get("MANIFEST.json");
  if (sums === undefined) problem("bundle-listing-missing", { file: "SHA256SUMS" });
  if (manifestEntry === undefined) problem("bundle-listing-missing", { file: "MANIFEST.json" });
  if (sums === undefined || manifestEntry === undefined) return { manifest: undefined, problems };
  for (const entry of [sums, manifestEntry]) {
    if (entry.mode !== 0o644) problem("bundle-listing-mode", { path: entry.path, mode: modeText(entry.mode) });
  }
  const tooBig = [sums, manifestEntry].filter((entry) => entry.size > MAX_LISTING);
  for (const entry of tooBig) problem("bundle-listing-size", { path: entry.path, size: entry.size });
  if (tooBig.length > 0) return { manifest: undefined, problems };

  const listed = new Map<string, string>();
  for (const line of sums.content.toString("utf8").split("\n").filter((l) => l !== "")) {
    const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) {
      problem("bundle-sums-line", { line: line.slice(0, 80) });
      continue;
    }
    listed.set(match[2], match[1]);
  }
  for (const [path, expected] of listed) {
    const entry = files.get(path);
    if (entry === undefined) problem("bundle-file-missing", { path });
    else if (digests.get(entry) !== expected) problem("bundle-file-modified", { path });
  }
  for (const path of files.keys()) {
    if (path !== "SHA256SUMS" && !listed.has(path)) problem("bundle-file-unlisted", { path });
  }

  const parsed = parseManifest(manifestEntry.content.toString("utf8"));
  if (!isManifest(parsed)) {
    problem("bundle-manifest-invalid", { problem: parsed.problem });
    return { manifest: undefined, problems };
  }
  const manifest = parsed;
  const inManifest = new Set<string>(["MANIFEST.json", "SHA256SUMS"]);
  for (const file of manifest.files) {
    if (inManifest.has(file.path)) problem("bundle-manifest-duplicate", { path: file.path });
    inManifest.add(file.path);
    const entry = files.get(file.path);
    if (entry === undefined) {
      if (!listed.has(file.path)) problem("bundle-file-missing", { path: file.path });
      continue;
    }
    if (digests.get(entry) !== file.sha256) problem("bundle-manifest-differs", { path: file.path });
    if (modeText(entry.mode) !== file.mode) problem("bundle-manifest-mode", { path: file.path, mode: modeText(entry.mode), listed: file.mode });
  }
  // A file only SHA256SUMS lists is outside the id: install.sh would still use it (a secrets.env, an image.tar).
  for (const path of files.keys()) {
    if (!inManifest.has(path)) problem("bundle-file-extra", { path });
  }
  // Byte for byte as pack writes them: then the id covers MANIFEST.json and SHA256SUMS follows from it.
  if (manifestEntry.content.toString("utf8") !== manifestText(manifest)) problem("bundle-manifest-layout", {});
  const expectedSums = sumsText([...manifest.files, { path: "MANIFEST.json", sha256: digests.get(manifestEntry) ?? "" }]);
  if (sums.content.toString("utf8") !== expectedSums) problem("bundle-sums-layout", {});
  if (problems.length === 0 && bundleId([], manifest, id) !== manifest.id) {
    problem("bundle-id", {});
  }
  return { manifest, problems };
}

function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

/** What `plc verify` prints of a bundle that passed: one `key value` line each. */
export function formatVerified(manifest: Manifest): string {
  const lines = [
    ["project", manifest.project],
    ["instance", manifest.instance],
    ["image", manifest.image],
    ["plugins", manifest.plugins.join(",") || "(none)"],
    ["secrets", manifest.secrets.join(",") || "(none)"],
    ["plc", manifest.plc],
    ["id", manifest.id],
    ["files", String(manifest.files.length)],
  ];
  return lines.map(([key, value]) => `${(key ?? "").padEnd(9)}${value ?? ""}\n`).join("");
}
