// Reading a built tarball back: verify, ship and diff all start here.
import { existsSync, statSync } from "node:fs";
import { list } from "tar/list";
import { displayPath, fail } from "../diagnostics.js";
import type { Manifest } from "../types.js";

export interface TarEntry {
  /** Path inside the root folder (`install.sh`, `hooks/01-postgres/backup.pre.sh`). */
  path: string;
  /** The path as the tar header spells it, root folder included. */
  headerPath: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  mtime: number;
  /** Empty unless the entry was kept. */
  content: Buffer;
}

export interface BundleTarball {
  /** The single root folder, `<prefix>-<instance>`; "" when there is not exactly one. */
  root: string;
  roots: string[];
  entries: TarEntry[];
}

/** Sees each entry's bytes as they pass, so a reader can hash a 3 GB image archive in constant memory. */
export interface EntryVisitor {
  start(entry: TarEntry): void;
  data(entry: TarEntry, chunk: Buffer): void;
  end(entry: TarEntry): void;
}

/**
 * Lists a tarball, keeping the contents of the entries `keep` selects (the rest, an image archive
 * included, is streamed to `visitor` without being buffered). Not a tarball: a located failure naming BUNDLE.
 */
export function readBundleTarball(file: string, cwd: string, keep: (path: string, size: number) => boolean, visitor?: EntryVisitor): BundleTarball {
  const display = displayPath(cwd, file);
  const notBundle = (why: string): never =>
    fail("not-a-tarball", { bundle: display, why }, { variable: "BUNDLE" });
  if (!existsSync(file) || !statSync(file).isFile()) {
    fail("bundle-missing", { bundle: display }, { variable: "BUNDLE" });
  }
  const roots = new Set<string>();
  const entries: TarEntry[] = [];
  try {
    list({
      file,
      sync: true,
      strict: true,
      // Small reads: a sync gunzip returns all of one read's output at once, up to 1000 times its size.
      maxReadSize: 16 * 1024,
      onReadEntry: (entry) => {
        const [root = "", ...rest] = entry.path.split("/");
        roots.add(root);
        const path = rest.join("/");
        const kept: TarEntry = {
          path: entry.path.startsWith("/") ? entry.path : path,
          headerPath: entry.path,
          type: entry.type,
          mode: entry.mode ?? 0,
          uid: entry.uid ?? 0,
          gid: entry.gid ?? 0,
          uname: entry.uname ?? "",
          gname: entry.gname ?? "",
          size: entry.size,
          mtime: Math.floor((entry.mtime?.getTime() ?? 0) / 1000),
          content: Buffer.alloc(0),
        };
        entries.push(kept);
        visitor?.start(kept);
        const isKept = keep(path, entry.size);
        const chunks: Buffer[] = [];
        entry.on("data", (chunk: Buffer) => {
          visitor?.data(kept, chunk);
          if (isKept) chunks.push(chunk);
        });
        entry.on("end", () => {
          if (isKept) kept.content = Buffer.concat(chunks);
          visitor?.end(kept);
        });
      },
    });
  } catch (error) {
    notBundle((error as Error).message);
  }
  const rootList = [...roots];
  return { root: rootList.length === 1 ? (rootList[0] ?? "") : "", roots: rootList, entries };
}

/** The MANIFEST.json of a tarball, checked enough to use (single root, install.sh, an id); else a located failure. */
export function readBundleManifest(file: string, cwd: string): { root: string; manifest: Manifest } {
  const display = displayPath(cwd, file);
  const notBundle = (why: string): never =>
    fail("not-a-bundle", { bundle: display, why }, { variable: "BUNDLE" });
  const tarball = readBundleTarball(file, cwd, (path) => path === "MANIFEST.json");
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(tarball.root)) notBundle("it has no single <prefix>-<instance>/ root folder");
  if (!tarball.entries.some((entry) => entry.path === "install.sh")) notBundle(`${tarball.root}/install.sh is missing`);
  const manifestEntry = tarball.entries.find((entry) => entry.path === "MANIFEST.json");
  if (manifestEntry === undefined) return notBundle(`${tarball.root}/MANIFEST.json is missing`);
  const manifest = parseManifest(manifestEntry.content.toString("utf8"));
  if (!isManifest(manifest)) return notBundle(`MANIFEST.json: ${manifest.problem}`);
  if (!/^[0-9a-f]{64}$/.test(manifest.id)) notBundle("MANIFEST.json names no bundle id");
  if (!manifest.home.startsWith("/")) notBundle("MANIFEST.json names no absolute home");
  return { root: tarball.root, manifest };
}

const isString = (value: unknown): value is string => typeof value === "string";
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);

function isManifestFile(value: unknown): value is Manifest["files"][number] {
  if (typeof value !== "object" || value === null) return false;
  const file = value as Record<string, unknown>;
  return isString(file["path"]) && isString(file["mode"]) && isString(file["sha256"]);
}

/** MANIFEST.json's text as a Manifest, or why it is not one (a host may hold one from a newer or broken plc). */
export function parseManifest(text: string): Manifest | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return { problem: "not a JSON object" };
  const raw = parsed as Record<string, unknown>;
  const strings = ["plc", "id", "project", "instance", "home", "image", "inputsDigest"] as const;
  const missing: string[] = strings.filter((key) => !isString(raw[key]));
  if (!isStringList(raw["plugins"])) missing.push("plugins");
  if (!isStringList(raw["secrets"])) missing.push("secrets");
  if (!Array.isArray(raw["files"]) || !raw["files"].every(isManifestFile)) missing.push("files");
  if (missing.length > 0) return { problem: `${missing.join(", ")} missing or malformed` };
  return raw as unknown as Manifest;
}

export function isManifest(value: Manifest | { problem: string }): value is Manifest {
  return !("problem" in value);
}
