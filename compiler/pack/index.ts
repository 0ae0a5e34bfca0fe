// Phase 5, pack: a deterministic tar.gz with MANIFEST.json and SHA256SUMS. Returns bytes; writes nothing.
// A file left on disk (an image archive) is read here in chunks, twice: once for the id, once as the
// tarball is made; it is never held whole.
import * as crypto from "node:crypto";
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

/** Node's one-shot hash (20.12 and later) costs half of a Hash object for a file of a few KiB; a bundle hashes thirty. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string | Buffer, encoding: "hex") => string }).hash;

export function sha256(data: string | Buffer): string {
  return oneShotHash === undefined ? createHash("sha256").update(data).digest("hex") : oneShotHash("sha256", data, "hex");
}

/** Packs rendered files into the bundle tarball; the id is the sha256 of the uncompressed payload tar. */
export function packBundle(spec: Spec, bundle: Bundle, options: PackOptions): PackedBundle {
  const payload: PackInput[] = [...bundle.files, ...(bundle.streamed ?? []), ...(options.extraFiles ?? []), ...(options.streamedFiles ?? [])].sort((a, b) => compare(a.path, b.path));
  assertSafePaths(payload);
  return payload.some(isStreamedFile) ? packStreamed(spec, bundle, payload, options) : packInMemory(spec, bundle, payload as BundleFile[], options);
}

/** MANIFEST.json's text with an empty id, and the manifest without one: the id hashes the former. */
function unsignedManifest(spec: Spec, bundle: Bundle, options: PackOptions, files: Manifest["files"]): Manifest {
  return {
    plc: options.plcVersion,
    id: "",
    project: spec.prefix,
    instance: spec.instance,
    home: spec.home,
    image: spec.image,
    plugins: spec.plugins.map((plugin) => plugin.name),
    inputsDigest: inputsDigest(spec),
    secrets: bundle.secrets.map((secret) => secret.key),
    files,
  };
}

/** The manifest's mode field: four octal digits. */
function modeText(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

/**
 * MANIFEST.json with its id: the text with an empty id (which the id hashes) with the id put in.
 * JSON.stringify writes `"id": ""` on the second line (no value holds a raw line break), so this is
 * manifestText(manifest) without serialising the file list a second time.
 */
function signedManifestText(unsignedText: string, id: string): string {
  const field = '\n  "id": "",\n';
  const at = unsignedText.indexOf(field);
  if (at < 0) throw new Error("unreachable: MANIFEST.json without its id line");
  return `${unsignedText.slice(0, at)}\n  "id": "${id}",\n${unsignedText.slice(at + field.length)}`;
}

/**
 * A bundle whose files are all in memory (every build but one with an image archive): each file's
 * bytes are written once, straight into the tar, and hashed there; the tar is gzipped as one buffer.
 */
function packInMemory(spec: Spec, bundle: Bundle, files: readonly BundleFile[], options: PackOptions): PackedBundle {
  const entries = layoutEntries(bundle.root, files, true, options.mtime);
  const payloadTar = writeTar(entries, true);
  const unsigned = unsignedManifest(
    spec,
    bundle,
    options,
    entries.flatMap((entry) => (entry.file === undefined ? [] : [{ path: entry.file.path, mode: modeText(entry.file.mode), sha256: entry.sha256 }])),
  );
  const unsignedText = manifestText(unsigned);
  const id = createHash("sha256").update(payloadTar).update(unsignedText).digest("hex");
  const manifest: Manifest = { ...unsigned, id };
  const manifestFile: BundleFile = { path: "MANIFEST.json", mode: 0o644, content: signedManifestText(unsignedText, id) };
  const [manifestEntry] = layoutEntries(bundle.root, [manifestFile], false, options.mtime);
  if (manifestEntry === undefined) throw new Error("unreachable: no MANIFEST.json entry");
  const manifestTar = writeTar([manifestEntry], false);
  const sums: BundleFile = {
    path: "SHA256SUMS",
    mode: 0o644,
    content: sumsText([...unsigned.files, { path: manifestFile.path, sha256: manifestEntry.sha256 }]),
  };
  const [sumsEntry] = layoutEntries(bundle.root, [sums], false, options.mtime);
  if (sumsEntry === undefined) throw new Error("unreachable: no SHA256SUMS entry");
  const sumsTar = writeTar([sumsEntry], false);
  // The final tar: the payload's entries with MANIFEST.json and SHA256SUMS in their sorted places.
  const all = [...entries, manifestEntry, sumsEntry].sort((a, b) => compare(a.path, b.path));
  const parts: Buffer[] = [];
  let cursor = 0;
  for (const [entry, bytes] of [[manifestEntry, manifestTar], [sumsEntry, sumsTar]] as const) {
    const next = entries.find((other) => compare(other.path, entry.path) > 0);
    const at = next === undefined ? payloadTar.length - END_BLOCKS : next.offset;
    if (at < cursor) throw new Error("unreachable: MANIFEST.json sorts after SHA256SUMS");
    parts.push(payloadTar.subarray(cursor, at), bytes);
    cursor = at;
  }
  parts.push(payloadTar.subarray(cursor));
  const tar = Buffer.concat(parts, payloadTar.length + manifestTar.length + sumsTar.length);
  let cached: Buffer | undefined;
  return {
    id,
    files: all.flatMap((entry) => (entry.file === undefined ? [] : [entry.file])),
    streamed: [],
    tgz: function* tgz(): Generator<Buffer> {
      // Under a member's size the whole tar is one gzip member, as gzipMembers would make it.
      cached ??= tar.length < GZIP_MEMBER ? gzipSync(tar, { level: GZIP_LEVEL }) : Buffer.concat([...gzipMembers(tarPieces(tar, all))]);
      yield cached;
    },
    isStreamed: false,
    fileName: `${bundle.root}-${id.slice(0, 12)}.tar.gz`,
    manifest,
  };
}

/** A bundle with a file left on disk (image.tar): the tar is made in chunks, twice, never held whole. */
function packStreamed(spec: Spec, bundle: Bundle, payload: readonly PackInput[], options: PackOptions): PackedBundle {
  // Each entry is encoded and hashed once: the payload tar (the id) and the final tar share them.
  const entries = encodeEntries(bundle.root, payload, options.mtime, true).sort((a, b) => compare(a.path, b.path));
  // One pass over the payload: the id's first part, and the sha256 of each file left on disk.
  const idHash = createHash("sha256");
  for (const chunk of tarChunks(entries, false)) idHash.update(chunk);
  const unsigned = unsignedManifest(
    spec,
    bundle,
    options,
    entries.flatMap((entry) => (entry.file === undefined ? [] : [{ path: entry.file.path, mode: modeText(entry.file.mode), sha256: entry.sha256 }])),
  );
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
  return {
    id,
    files: all.flatMap((entry) => (entry.file === undefined || isStreamedFile(entry.file) ? [] : [entry.file])),
    streamed,
    tgz: () => gzipMembers(tarChunks(all, true)),
    isStreamed: true,
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
export function encodeHeader(entry: HeaderFields): Buffer[] {
  if (isPlain(entry)) {
    const block = Buffer.allocUnsafe(BLOCK);
    writePlainHeader(block, 0, entry);
    return [block];
  }
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
/** The checksum of the template, its own field counted as eight spaces (the template's other fields are zeros). */
const PLAIN_TEMPLATE_SUM = PLAIN_TEMPLATE.reduce((sum, byte) => sum + byte, 8 * 0x20);
/** Padding to a block's end, shared by every entry: tarChunks only reads it. */
const ZEROS = Buffer.alloc(BLOCK);
/** The two zero blocks that end a tar. */
const END_BLOCKS = 2 * BLOCK;
const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

/** An octal field as tar writes it: zero-padded, then a space and a NUL (no space when the digits fill it). */
function octalField(value: number, size: number): string {
  const digits = value.toString(8);
  return digits.length === size - 1 ? `${digits}\0` : `${"0".repeat(Math.max(size - digits.length - 2, 0))}${digits} \0`;
}

type HeaderFields = { path: string; mode: number; size: number; mtime: number; type: "File" | "Directory" };

/**
 * Whether plainHeader can write the entry's header: a path of printable ASCII under 100 bytes, numbers
 * that fit their fields. Otherwise tar's Header (and a pax header) encode it.
 */
function isPlain({ path, mode, size, mtime }: HeaderFields): boolean {
  if (path.length === 0 || path.length >= 100 || !/^[\x20-\x7e]+$/.test(path)) return false;
  if (!Number.isInteger(mode) || mode < 0 || mode > MAX_OCTAL_8) return false;
  if (!Number.isInteger(size) || size < 0 || size > MAX_OCTAL_12) return false;
  return Number.isInteger(mtime) && mtime >= 0 && mtime <= MAX_OCTAL_12;
}

/** Writes ASCII text into a header and returns the sum of its bytes (the header checksum counts them). */
function writeAscii(block: Buffer, offset: number, text: string): number {
  let sum = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    block[offset + index] = code;
    sum += code;
  }
  return sum;
}

/**
 * The header of an entry isPlain accepts, at `offset`: the same block tar's Header encodes
 * (test/tar-header.test.ts compares them), written without building one per entry; a bundle writes
 * a hundred per instance.
 */
function writePlainHeader(block: Buffer, offset: number, entry: HeaderFields): void {
  PLAIN_TEMPLATE.copy(block, offset);
  let sum = PLAIN_TEMPLATE_SUM;
  sum += writeAscii(block, offset, entry.path);
  sum += writeAscii(block, offset + 100, octalField(entry.mode, 8));
  sum += writeAscii(block, offset + 124, octalField(entry.size, 12));
  sum += writeAscii(block, offset + 136, octalField(entry.mtime, 12));
  const type = entry.type === "Directory" ? 0x35 : 0x30;
  block[offset + 156] = type;
  writeAscii(block, offset + 148, octalField(sum + type, 8));
}

/** An entry of a tar held in memory: a directory (no content) or a file, and where it was written. */
interface MemoryEntry {
  path: string;
  mode: number;
  content: string | Buffer | undefined;
  /** The content's length in bytes (UTF-8 for a string). */
  size: number;
  mtime: number;
  /** tar's header blocks, for an entry writePlainHeader cannot write; undefined: it writes it. */
  header: Buffer[] | undefined;
  file: BundleFile | undefined;
  /** Where its header starts in the tar writeTar made. */
  offset: number;
  /** Of the content, set by writeTar. */
  sha256: string;
}

/** Zeros after a content of this size, to the block's end. */
function paddingOf(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Fixed modes and mtime; directories listed explicitly (tar walks readdir order), sorted by path. */
function layoutEntries(root: string, files: readonly BundleFile[], withDirectories: boolean, mtime: number): MemoryEntry[] {
  const entries: MemoryEntry[] = [];
  const add = (path: string, mode: number, content: string | Buffer | undefined, file: BundleFile | undefined): void => {
    const size = content === undefined ? 0 : typeof content === "string" ? Buffer.byteLength(content, "utf8") : content.length;
    const fields: HeaderFields = { path, mode, size, mtime, type: content === undefined ? "Directory" : "File" };
    entries.push({ path, mode, content, size, mtime, header: isPlain(fields) ? undefined : encodeHeader(fields), file, offset: 0, sha256: "" });
  };
  if (withDirectories) {
    const directories = new Set<string>([root]);
    for (const file of files) {
      for (let slash = file.path.indexOf("/"); slash >= 0; slash = file.path.indexOf("/", slash + 1)) directories.add(`${root}/${file.path.slice(0, slash)}`);
    }
    for (const directory of directories) add(`${directory}/`, 0o755, undefined, undefined);
  }
  for (const file of files) add(`${root}/${file.path}`, file.mode, file.content, file);
  return entries.sort((a, b) => compare(a.path, b.path));
}

/** The entries as one tar (the end blocks too when `withEnd`); each file's bytes written once, and hashed there. */
function writeTar(entries: readonly MemoryEntry[], withEnd: boolean): Buffer {
  let total = withEnd ? END_BLOCKS : 0;
  for (const entry of entries) total += (entry.header === undefined ? BLOCK : entry.header.reduce((sum, block) => sum + block.length, 0)) + entry.size + paddingOf(entry.size);
  const tar = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const entry of entries) {
    entry.offset = offset;
    if (entry.header === undefined) {
      writePlainHeader(tar, offset, { path: entry.path, mode: entry.mode, size: entry.size, mtime: entry.mtime, type: entry.content === undefined ? "Directory" : "File" });
      offset += BLOCK;
    } else {
      for (const block of entry.header) offset += block.copy(tar, offset);
    }
    if (entry.content !== undefined) {
      const written = typeof entry.content === "string" ? tar.write(entry.content, offset, "utf8") : entry.content.copy(tar, offset);
      if (written !== entry.size) throw new Error(`unreachable: ${entry.path} is ${entry.size} bytes, ${written} written`);
      entry.sha256 = sha256(tar.subarray(offset, offset + written));
      offset += written;
    }
    const padding = paddingOf(entry.size);
    tar.fill(0, offset, offset + padding);
    offset += padding;
  }
  tar.fill(0, offset);
  return tar;
}

/**
 * A tar held in memory cut where tarChunks would cut it (each header block, the content, its padding, the
 * end blocks): gzipMembers starts a member after the chunk that reaches GZIP_MEMBER, so a tarball over it
 * keeps its bytes whichever way it was made.
 */
function* tarPieces(tar: Buffer, entries: readonly MemoryEntry[]): Generator<Buffer> {
  let offset = 0;
  const piece = (length: number): Buffer => tar.subarray(offset, (offset += length));
  for (const entry of entries) {
    if (entry.header === undefined) yield piece(BLOCK);
    else for (const block of entry.header) yield piece(block.length);
    if (entry.content !== undefined) yield piece(entry.size);
    const padding = paddingOf(entry.size);
    if (padding > 0) yield piece(padding);
  }
  yield piece(END_BLOCKS);
}

/** As layoutEntries, for packStreamed: a file's content as a Buffer, or left on disk. */
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
