// Phase 5, pack: a deterministic tar.gz with MANIFEST.json and SHA256SUMS. Returns bytes; writes nothing.
// A file left on disk (an image archive) is read here in chunks, twice: once for the id, once as the
// tarball is made; it is never held whole.
import { createHash, type Hash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { Header } from "tar/header";
import { Pax } from "tar/pax";
import { isSecretPointer } from "../secrecy.js";
import type { Bundle, BundleFile, FileOnDisk, Manifest, PackedBundle, Spec, StreamedFile } from "../types.js";

export interface PackOptions {
  plcVersion: string;
  /** SOURCE_DATE_EPOCH, or 0: no clock reaches the bundle. */
  mtime: number;
  /** Extra files that travel inside the tarball (image.tar, an embedded secrets.env). */
  extraFiles?: BundleFile[];
  /** Extra files packed from disk in chunks (image.tar given to plc ship). */
  streamedFiles?: StreamedFile[];
}

/** A file as pack takes it: its bytes in memory or on disk. */
type PackInput = BundleFile | StreamedFile;

export const TAR_BLOCK = 512;
const BLOCK = TAR_BLOCK;

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Packs rendered files into the bundle tarball; the id is the sha256 of the uncompressed payload tar. */
export function packBundle(spec: Spec, bundle: Bundle, options: PackOptions): PackedBundle {
  const payload: PackInput[] = [...bundle.files, ...(bundle.streamed ?? []), ...(options.extraFiles ?? []), ...(options.streamedFiles ?? [])].sort((a, b) => compare(a.path, b.path));
  assertSafePaths(payload);
  // Each entry is encoded and hashed once: the payload tar (the id) and the final tar share them.
  const entries = encodeEntries(bundle.root, payload, options.mtime, true).sort((a, b) => compare(a.path, b.path));
  // One pass over the payload: the id's first part, and the sha256 of each file left on disk.
  const idHash = createHash("sha256");
  for (const chunk of tarChunks(entries, false)) idHash.update(chunk);
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
  const id = bundleId([], unsigned, idHash);
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
  const streamed = all.flatMap((entry) => (entry.file !== undefined && isStreamedFile(entry.file) ? [entry.file] : []));
  let cached: Buffer | undefined;
  return {
    id,
    files: all.flatMap((entry) => (entry.file === undefined || isStreamedFile(entry.file) ? [] : [entry.file])),
    streamed,
    tgz:
      streamed.length > 0
        ? () => gzipMembers(tarChunks(all, true))
        : function* tgz(): Generator<Buffer> {
            cached ??= Buffer.concat([...gzipMembers(tarChunks(all, true))]);
            yield cached;
          },
    isStreamed: streamed.length > 0,
    fileName: `${bundle.root}-${id.slice(0, 12)}.tar.gz`,
    manifest,
  };
}

/** The whole tar.gz of a bundle held in memory (one without files left on disk). */
export function tgzBytes(packed: Pick<PackedBundle, "tgz">): Buffer {
  return Buffer.concat([...packed.tgz()]);
}

// Level 3, zlib's fastest family (levels 1-3 match greedily, 4-9 lazily): on the largest fixture's
// 80 KiB tar (npm run bench) 0.7 ms against 1.4-7 ms for level 6, for 10% more bytes (22.9 against
// 20.8 KiB); level 1 saves no time and adds 6% more. The id is of the tar, so no id changes.
const GZIP_LEVEL = 3;
/**
 * Gzip input per member. A tarball under it is one member, as gzip writes it; a bigger one (an image
 * inside) is a concatenation of members, which gzip, tar -z and busybox read as one stream, made here
 * one member at a time in bounded memory. The boundaries depend only on the bytes: still deterministic.
 */
const GZIP_MEMBER = 4 * 1024 * 1024;
/** Reads of a file left on disk. */
const READ_CHUNK = 1024 * 1024;

/** Chunks are copied as they come (readChunks reuses its buffer); one staging buffer serves every member. */
function* gzipMembers(chunks: Iterable<Buffer>): Generator<Buffer> {
  let staging = Buffer.allocUnsafe(0);
  let size = 0;
  for (const chunk of chunks) {
    if (size + chunk.length > staging.length) {
      const grown = Buffer.allocUnsafe(Math.max(size + chunk.length, Math.min(2 * staging.length, GZIP_MEMBER + READ_CHUNK)));
      staging.copy(grown, 0, 0, size);
      staging = grown;
    }
    chunk.copy(staging, size);
    size += chunk.length;
    if (size >= GZIP_MEMBER) {
      yield gzipSync(staging.subarray(0, size), { level: GZIP_LEVEL });
      size = 0;
    }
  }
  if (size > 0) yield gzipSync(staging.subarray(0, size), { level: GZIP_LEVEL });
}

function isStreamedFile(file: PackInput): file is StreamedFile {
  return typeof file.content !== "string" && !Buffer.isBuffer(file.content);
}

function isOnDisk(content: EncodedEntry["content"]): content is FileOnDisk {
  return content !== undefined && !Buffer.isBuffer(content);
}

/** The tar stream of the entries, end blocks included; the first pass (isAgain false) hashes files on disk. */
function* tarChunks(entries: readonly EncodedEntry[], isAgain: boolean): Generator<Buffer> {
  for (const entry of entries) {
    yield* entry.header;
    const content = entry.content;
    if (isOnDisk(content)) {
      const hash: Hash | undefined = isAgain ? undefined : createHash("sha256");
      for (const chunk of readChunks(content)) {
        hash?.update(chunk);
        yield chunk;
      }
      if (hash !== undefined) entry.sha256 = hash.digest("hex");
    } else if (content !== undefined) {
      yield content;
    }
    if (entry.padding.length > 0) yield entry.padding;
  }
  yield Buffer.alloc(BLOCK * 2);
}

/**
 * A file's bytes in chunks, each valid until the next is asked for (one buffer, reused); one that changed
 * size since it was loaded would break the id, so it fails.
 */
function* readChunks(file: FileOnDisk): Generator<Buffer> {
  const fd = openSync(file.path, "r");
  const buffer = Buffer.allocUnsafe(READ_CHUNK);
  try {
    let total = 0;
    for (;;) {
      const read = readSync(fd, buffer, 0, READ_CHUNK, null);
      if (read === 0) break;
      total += read;
      if (total > file.size) break;
      yield buffer.subarray(0, read);
    }
    if (total !== file.size) throw new Error(`${file.path} changed while plc was packing it (${file.size} bytes when loaded)`);
  } finally {
    closeSync(fd);
  }
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

function assertSafePaths(files: readonly PackInput[]): void {
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
  /** Header blocks (a pax header first when needed). */
  header: Buffer[];
  content: Buffer | FileOnDisk | undefined;
  padding: Buffer;
  file: PackInput | undefined;
  /** For a file left on disk, set by the first pass over the tar stream. */
  sha256: string;
}

/**
 * An entry's header blocks as pack writes them: uid/gid 0, no user names (a pax header first when the
 * path is long). verify re-encodes what it reads with this, so the id covers every header field.
 */
export function encodeHeader(entry: { path: string; mode: number; size: number; mtime: number; type: "File" | "Directory" }): Buffer[] {
  const plain = plainHeader(entry);
  if (plain !== undefined) return [plain];
  const data = { ...entry, mtime: new Date(entry.mtime * 1000), uid: 0, gid: 0, uname: "", gname: "" };
  const block = Buffer.alloc(BLOCK);
  const needsPax = new Header(data).encode(block, 0);
  return needsPax ? [new Pax(data).encode(), block] : [block];
}

/** The fields of a ustar header block that are the same in every header pack writes: uid, gid, magic, devmajor/minor. */
const PLAIN_TEMPLATE = (() => {
  const block = Buffer.alloc(BLOCK);
  block.write("000000 \0", 108, "ascii");
  block.write("000000 \0", 116, "ascii");
  block.write("ustar\u000000", 257, "ascii");
  block.write("000000 \0", 329, "ascii");
  block.write("000000 \0", 337, "ascii");
  return block;
})();
/** Padding to a block's end, shared by every entry: tarChunks only reads it. */
const ZEROS = Buffer.alloc(BLOCK);
const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

/** An octal field as tar writes it: zero-padded, then a space and a NUL (no space when the digits fill it). */
function octalField(value: number, size: number): string {
  const digits = value.toString(8);
  return digits.length === size - 1 ? `${digits}\0` : `${"0".repeat(Math.max(size - digits.length - 2, 0))}${digits} \0`;
}

/**
 * The header of an entry whose path is printable ASCII under 100 bytes and whose numbers fit their
 * fields: the same block tar's Header encodes (test/pack.test.ts compares them), written without
 * building one per entry; a bundle writes a hundred per instance. Undefined: the entry needs tar's.
 */
function plainHeader(entry: { path: string; mode: number; size: number; mtime: number; type: "File" | "Directory" }): Buffer | undefined {
  const { path, mode, size, mtime } = entry;
  if (path.length === 0 || path.length >= 100 || !/^[\x20-\x7e]+$/.test(path)) return undefined;
  if (!Number.isInteger(mode) || mode < 0 || mode > MAX_OCTAL_8) return undefined;
  if (!Number.isInteger(size) || size < 0 || size > MAX_OCTAL_12) return undefined;
  if (!Number.isInteger(mtime) || mtime < 0 || mtime > MAX_OCTAL_12) return undefined;
  const block = Buffer.allocUnsafe(BLOCK);
  PLAIN_TEMPLATE.copy(block);
  block.write(path, 0, "latin1");
  block.write(octalField(mode, 8), 100, "latin1");
  block.write(octalField(size, 12), 124, "latin1");
  block.write(octalField(mtime, 12), 136, "latin1");
  block[156] = entry.type === "Directory" ? 0x35 : 0x30;
  // The checksum counts its own field as eight spaces.
  let sum = 8 * 0x20;
  for (let index = 0; index < 148; index++) sum += block[index] ?? 0;
  for (let index = 156; index < BLOCK; index++) sum += block[index] ?? 0;
  block.write(octalField(sum, 8), 148, "latin1");
  return block;
}

/** Fixed modes and mtime; directories listed explicitly (tar walks readdir order). */
function encodeEntries(root: string, files: readonly PackInput[], mtime: number, withDirectories: boolean): EncodedEntry[] {
  const directories = new Set<string>(withDirectories ? [root] : []);
  if (withDirectories) {
    for (const file of files) {
      const parts = file.path.split("/").slice(0, -1);
      parts.forEach((_, index) => directories.add(`${root}/${parts.slice(0, index + 1).join("/")}`));
    }
  }
  const encode = (path: string, mode: number, content: Buffer | FileOnDisk | undefined): Pick<EncodedEntry, "header" | "content" | "padding"> => {
    const size = content === undefined ? 0 : Buffer.isBuffer(content) ? content.length : content.size;
    const header = encodeHeader({ path, mode, size, mtime, type: content === undefined ? "Directory" : "File" });
    return { header, content, padding: ZEROS.subarray(0, (BLOCK - (size % BLOCK)) % BLOCK) };
  };
  return [
    ...[...directories].map((path) => ({ path: `${path}/`, ...encode(`${path}/`, 0o755, undefined), file: undefined, sha256: "" })),
    ...files.map((file) => {
      const content = typeof file.content === "string" ? Buffer.from(file.content, "utf8") : file.content;
      const path = `${root}/${file.path}`;
      return { path, ...encode(path, file.mode, content), file, sha256: Buffer.isBuffer(content) ? sha256(content) : "" };
    }),
  ];
}
