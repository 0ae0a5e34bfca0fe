// Phase 5, pack: a deterministic tar.gz with MANIFEST.json and SHA256SUMS. Returns bytes; writes nothing.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { Header, Pax } from "tar";
import { isSecretPointer } from "../secrecy.js";
import type { Bundle, BundleFile, Manifest, PackedBundle, Spec } from "../types.js";

export interface PackOptions {
  plcVersion: string;
  /** SOURCE_DATE_EPOCH, or 0: no clock reaches the bundle. */
  mtime: number;
  /** Extra files that travel inside the tarball (image.tar, an embedded secrets.env). */
  extraFiles?: BundleFile[];
}

export const TAR_BLOCK = 512;
const BLOCK = TAR_BLOCK;

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Packs rendered files into the bundle tarball; the id is the sha256 of the uncompressed payload tar. */
export function packBundle(spec: Spec, bundle: Bundle, options: PackOptions): PackedBundle {
  const payload = [...bundle.files, ...(options.extraFiles ?? [])].sort((a, b) => compare(a.path, b.path));
  assertSafePaths(payload);
  // Each entry is encoded and hashed once: the payload tar (the id) and the final tar share them.
  const entries = encodeEntries(bundle.root, payload, options.mtime, true).sort((a, b) => compare(a.path, b.path));
  const unsigned: Manifest = {
    plc: options.plcVersion,
    id: "",
    project: spec.prefix,
    instance: spec.instance,
    home: spec.home,
    image: spec.image,
    plugins: spec.plugins.map((plugin) => plugin.name),
    inputsDigest: inputsDigest(spec),
    secrets: bundle.secrets.map((secret) => secret.key),
    files: entries.flatMap((entry) => (entry.file === undefined ? [] : [{ path: entry.file.path, mode: entry.file.mode.toString(8).padStart(4, "0"), sha256: entry.sha256 }])),
  };
  const id = bundleId([assembleTar(entries)], unsigned);
  const manifest: Manifest = { ...unsigned, id };
  const manifestFile: BundleFile = { path: "MANIFEST.json", mode: 0o644, content: manifestText(manifest) };
  const manifestEntries = encodeEntries(bundle.root, [manifestFile], options.mtime, false);
  const listed = [...entries, ...manifestEntries].filter((entry) => entry.file !== undefined).sort((a, b) => compare(a.path, b.path));
  const sums: BundleFile = {
    path: "SHA256SUMS",
    mode: 0o644,
    content: sumsText(listed.map((entry) => ({ path: entry.file?.path ?? "", sha256: entry.sha256 }))),
  };
  const all = [...entries, ...manifestEntries, ...encodeEntries(bundle.root, [sums], options.mtime, false)].sort((a, b) => compare(a.path, b.path));
  return {
    id,
    files: all.flatMap((entry) => (entry.file === undefined ? [] : [entry.file])),
    // Level 6 (zlib's default): half the time of 9 for 1% more bytes on a typical bundle.
    tgz: gzipSync(assembleTar(all), { level: 6 }),
    fileName: `${bundle.root}-${id.slice(0, 12)}.tar.gz`,
    manifest,
  };
}

/**
 * The bundle id: the sha256 of the payload tar (every entry but MANIFEST.json and SHA256SUMS,
 * headers included), then of MANIFEST.json with an empty id. SHA256SUMS follows from both.
 * verify feeds the payload in chunks as it streams.
 */
export function bundleId(payload: Iterable<Buffer>, manifest: Manifest, hash = createHash("sha256")): string {
  for (const chunk of payload) hash.update(chunk);
  return hash.update(manifestText({ ...manifest, id: "" })).digest("hex");
}

/** SHA256SUMS as pack writes it: one line per file, MANIFEST.json included, sorted by path. */
export function sumsText(lines: readonly { path: string; sha256: string }[]): string {
  return [...lines].sort((a, b) => compare(a.path, b.path)).map((line) => `${line.sha256}  ${line.path}\n`).join("");
}

/** `"id": "…"` on a line of its own: install.sh reads it with sed, without a JSON parser. */
export function manifestText(manifest: Manifest): string {
  return JSON.stringify(manifest, null, 2) + "\n";
}

/** A digest of the non-secret inputs, so two bundles can be told apart without their secrets. */
function inputsDigest(spec: Spec): string {
  const visible: Record<string, unknown> = {};
  for (const [pointer, value] of [...spec.values].sort(([a], [b]) => compare(a, b))) {
    visible[pointer] = isSecretPointer(spec, pointer) ? "<secret>" : value.value;
  }
  return sha256(JSON.stringify(visible));
}

function assertSafePaths(files: readonly BundleFile[]): void {
  const seen = new Set<string>();
  for (const file of files) {
    // Two entries of one path: SHA256SUMS would list both, and unpacking keeps only the later one.
    if (seen.has(file.path)) throw new Error(`bundle path given twice: ${file.path}`);
    seen.add(file.path);
    const parts = file.path.split("/");
    if (file.path.startsWith("/") || parts.some((part) => part === ".." || part === "." || part === "")) {
      throw new Error(`bundle path escapes the bundle: ${file.path}`);
    }
    // install.sh reads MANIFEST.json and SHA256SUMS with sed and awk: no character that JSON or sha256sum escapes.
    if (!/^[A-Za-z0-9._@+-][A-Za-z0-9._/@+-]*$/.test(file.path)) throw new Error(`bundle path has a character install.sh cannot check: ${file.path}`);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface EncodedEntry {
  path: string;
  /** Header (and pax header when needed), content, padding. */
  bytes: Buffer[];
  file: BundleFile | undefined;
  sha256: string;
}

function assembleTar(entries: readonly EncodedEntry[]): Buffer {
  return Buffer.concat([...entries.flatMap((entry) => entry.bytes), Buffer.alloc(BLOCK * 2)]);
}

/**
 * An entry's header blocks as pack writes them: uid/gid 0, no user names (a pax header first when the
 * path is long). verify re-encodes what it reads with this, so the id covers every header field.
 */
export function encodeHeader(entry: { path: string; mode: number; size: number; mtime: number; type: "File" | "Directory" }): Buffer[] {
  const data = { ...entry, mtime: new Date(entry.mtime * 1000), uid: 0, gid: 0, uname: "", gname: "" };
  const block = Buffer.alloc(BLOCK);
  const needsPax = new Header(data).encode(block, 0);
  return needsPax ? [new Pax(data).encode(), block] : [block];
}

/** Fixed modes and mtime; directories listed explicitly (tar walks readdir order). */
function encodeEntries(root: string, files: readonly BundleFile[], mtime: number, withDirectories: boolean): EncodedEntry[] {
  const directories = new Set<string>(withDirectories ? [root] : []);
  if (withDirectories) {
    for (const file of files) {
      const parts = file.path.split("/").slice(0, -1);
      parts.forEach((_, index) => directories.add(`${root}/${parts.slice(0, index + 1).join("/")}`));
    }
  }
  const encode = (path: string, mode: number, content: Buffer | undefined): Buffer[] => {
    const bytes = encodeHeader({ path, mode, size: content?.length ?? 0, mtime, type: content === undefined ? "Directory" : "File" });
    if (content !== undefined) bytes.push(content, Buffer.alloc((BLOCK - (content.length % BLOCK)) % BLOCK));
    return bytes;
  };
  return [
    ...[...directories].map((path) => ({ path: `${path}/`, bytes: encode(`${path}/`, 0o755, undefined), file: undefined, sha256: "" })),
    ...files.map((file) => {
      const content = typeof file.content === "string" ? Buffer.from(file.content, "utf8") : file.content;
      const path = `${root}/${file.path}`;
      return { path, bytes: encode(path, file.mode, content), file, sha256: sha256(content) };
    }),
  ];
}
