// Phase 5, pack: a deterministic tar.gz with MANIFEST.json and SHA256SUMS. Returns bytes; writes nothing.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { Header, Pax } from "tar";
import { isSecretPointer } from "../validate/index.js";
import type { Bundle, BundleFile, Manifest, PackedBundle, Spec } from "../types.js";

export interface PackOptions {
  plcVersion: string;
  /** SOURCE_DATE_EPOCH, or 0: no clock reaches the bundle. */
  mtime: number;
  /** Extra files that travel inside the tarball (image.tar, an embedded secrets.env). */
  extraFiles?: BundleFile[];
}

const BLOCK = 512;

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Packs rendered files into the bundle tarball; the id is the sha256 of the uncompressed payload tar. */
export function packBundle(spec: Spec, bundle: Bundle, options: PackOptions): PackedBundle {
  const payload = [...bundle.files, ...(options.extraFiles ?? [])].sort((a, b) => compare(a.path, b.path));
  assertSafePaths(payload);
  const id = sha256(writeTar(bundle.root, payload, options.mtime));
  const manifest: Manifest = {
    plc: options.plcVersion,
    id,
    project: spec.prefix,
    instance: spec.instance,
    image: spec.image,
    plugins: spec.plugins.map((plugin) => plugin.name),
    inputsDigest: inputsDigest(spec),
    secrets: bundle.secrets.map((secret) => secret.key),
    files: payload.map((file) => ({ path: file.path, mode: file.mode.toString(8).padStart(4, "0"), sha256: sha256(file.content) })),
  };
  const manifestFile: BundleFile = { path: "MANIFEST.json", mode: 0o644, content: manifestText(manifest) };
  const withManifest = [...payload, manifestFile].sort((a, b) => compare(a.path, b.path));
  const sums: BundleFile = {
    path: "SHA256SUMS",
    mode: 0o644,
    content: withManifest.map((file) => `${sha256(file.content)}  ${file.path}\n`).join(""),
  };
  const all = [...withManifest, sums].sort((a, b) => compare(a.path, b.path));
  const tarBytes = writeTar(bundle.root, all, options.mtime);
  return {
    id,
    files: all,
    // Level 6 (zlib's default): half the time of 9 for 1% more bytes on a typical bundle.
    tgz: gzipSync(tarBytes, { level: 6 }),
    fileName: `${bundle.root}-${id.slice(0, 12)}.tar.gz`,
    manifest,
  };
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
  for (const file of files) {
    const parts = file.path.split("/");
    if (file.path.startsWith("/") || parts.some((part) => part === ".." || part === "." || part === "")) {
      throw new Error(`bundle path escapes the bundle: ${file.path}`);
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Directories first where they are needed, uid/gid 0, no user names, fixed modes and mtime. */
export function writeTar(root: string, files: readonly BundleFile[], mtime: number): Buffer {
  const date = new Date(mtime * 1000);
  const directories = new Set<string>([root]);
  for (const file of files) {
    const parts = file.path.split("/").slice(0, -1);
    parts.forEach((_, index) => directories.add(`${root}/${parts.slice(0, index + 1).join("/")}`));
  }
  const entries: { path: string; mode: number; content: Buffer | undefined }[] = [
    ...[...directories].map((path) => ({ path: `${path}/`, mode: 0o755, content: undefined })),
    ...files.map((file) => ({
      path: `${root}/${file.path}`,
      mode: file.mode,
      content: typeof file.content === "string" ? Buffer.from(file.content, "utf8") : file.content,
    })),
  ].sort((a, b) => compare(a.path, b.path));

  const chunks: Buffer[] = [];
  for (const entry of entries) {
    const data = {
      path: entry.path,
      mode: entry.mode,
      uid: 0,
      gid: 0,
      size: entry.content?.length ?? 0,
      mtime: date,
      type: entry.content === undefined ? ("Directory" as const) : ("File" as const),
      uname: "",
      gname: "",
    };
    const header = new Header(data);
    const block = Buffer.alloc(BLOCK);
    if (header.encode(block, 0)) chunks.push(new Pax({ ...data, mtime: date }).encode());
    chunks.push(block);
    if (entry.content !== undefined) {
      chunks.push(entry.content);
      const padding = (BLOCK - (entry.content.length % BLOCK)) % BLOCK;
      chunks.push(Buffer.alloc(padding));
    }
  }
  chunks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(chunks);
}
