// Tampered bundles, built with node-tar's header encoder: what an attacker can do to a tarball after
// plc built it (an extra file listed only in SHA256SUMS, foreign owners and modes, special files).
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { Header, Parser, type ReadEntry } from "tar";

export interface RawEntry {
  /** Full path, root folder included (`ybs-hack/env`, `ybs-hack/` for a directory). */
  path: string;
  type: "File" | "Directory" | "CharacterDevice" | "BlockDevice" | "FIFO" | "SymbolicLink" | "Link";
  mode: number;
  uid: number;
  gid: number;
  content: Buffer;
  linkpath?: string;
  devmaj?: number;
  devmin?: number;
}

/** Every entry of a .tar.gz, contents included (test bundles are small). */
export function readEntries(tgz: Buffer): RawEntry[] {
  const entries: RawEntry[] = [];
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const chunks: Buffer[] = [];
      entry.on("data", (chunk: Buffer) => chunks.push(chunk));
      entry.on("end", () => {
        entries.push({
          path: entry.path,
          type: entry.type as RawEntry["type"],
          mode: entry.mode ?? 0,
          uid: entry.uid ?? 0,
          gid: entry.gid ?? 0,
          content: Buffer.concat(chunks),
        });
      });
    },
  });
  parser.end(gunzipSync(tgz));
  return entries;
}

/** A .tar.gz of these entries, in this order, headers exactly as given. */
export function writeEntries(entries: readonly RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const block = Buffer.alloc(512);
    new Header({
      path: entry.path,
      type: entry.type,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: entry.type === "File" ? entry.content.length : 0,
      mtime: new Date(0),
      uname: "",
      gname: "",
      linkpath: entry.linkpath,
      devmaj: entry.devmaj ?? 0,
      devmin: entry.devmin ?? 0,
    }).encode(block, 0);
    blocks.push(block);
    if (entry.type === "File") blocks.push(entry.content, Buffer.alloc((512 - (entry.content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Adds a file and its SHA256SUMS line, as the review's V01 did; MANIFEST.json and the id are untouched. */
export function withFileListedOnlyInSums(tgz: Buffer, root: string, path: string, content: string, mode = 0o644): Buffer {
  const entries = readEntries(tgz);
  const data = Buffer.from(content, "utf8");
  const sums = entries.find((entry) => entry.path === `${root}/SHA256SUMS`);
  if (sums === undefined) throw new Error("no SHA256SUMS");
  sums.content = Buffer.concat([sums.content, Buffer.from(`${sha256(data)}  ${path}\n`, "utf8")]);
  entries.push({ path: `${root}/${path}`, type: "File", mode, uid: 0, gid: 0, content: data });
  return writeEntries(entries);
}

/** Every header set to this owner and mode, contents and checksums unchanged (the review's V03). */
export function withOwnerAndMode(tgz: Buffer, uid: number, mode: number): Buffer {
  return writeEntries(readEntries(tgz).map((entry) => ({ ...entry, uid, gid: uid, mode })));
}

/** The bundle plus special entries (devices, FIFOs, links) that no checksum lists (the review's V05). */
export function withSpecialEntries(tgz: Buffer, extra: readonly RawEntry[]): Buffer {
  return writeEntries([...readEntries(tgz), ...extra]);
}

/** MANIFEST.json edited (written as plc writes it) and its SHA256SUMS line updated; the id left as it was. */
export function withManifestEdited(tgz: Buffer, root: string, edit: (manifest: Record<string, unknown>) => void): Buffer {
  const entries = readEntries(tgz);
  const manifestEntry = entries.find((entry) => entry.path === `${root}/MANIFEST.json`);
  const sums = entries.find((entry) => entry.path === `${root}/SHA256SUMS`);
  if (manifestEntry === undefined || sums === undefined) throw new Error("no MANIFEST.json or SHA256SUMS");
  const manifest = JSON.parse(manifestEntry.content.toString("utf8")) as Record<string, unknown>;
  const old = sha256(manifestEntry.content);
  edit(manifest);
  manifestEntry.content = Buffer.from(JSON.stringify(manifest, null, 2) + "\n", "utf8");
  sums.content = Buffer.from(sums.content.toString("utf8").replace(old, sha256(manifestEntry.content)), "utf8");
  return writeEntries(entries);
}
