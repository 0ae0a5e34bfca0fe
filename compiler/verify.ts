// `plc verify`: a built tarball checked against its own MANIFEST.json and SHA256SUMS.
import * as tar from "tar";
import { diagnostic, fail, type Diagnostic } from "./diagnostics.js";
import { sha256, writeTar } from "./pack/index.js";
import type { BundleFile, Manifest } from "./types.js";

export interface TarEntry {
  path: string;
  type: string;
  mode: number;
  mtime: number;
  content: Buffer;
}

export interface VerifyReport {
  manifest: Manifest | undefined;
  problems: Diagnostic[];
}

/** Reads every entry of a tar.gz into memory (bundles are small unless they carry an image). */
export function readTarball(file: string): TarEntry[] {
  const entries: TarEntry[] = [];
  try {
    tar.t({
      file,
      sync: true,
      strict: true,
      onReadEntry: (entry) => {
        const chunks: Buffer[] = [];
        entry.on("data", (chunk: Buffer) => chunks.push(chunk));
        entry.on("end", () => {
          entries.push({
            path: entry.path,
            type: entry.type,
            mode: entry.mode ?? 0,
            mtime: Math.floor((entry.mtime?.getTime() ?? 0) / 1000),
            content: Buffer.concat(chunks),
          });
        });
      },
    });
  } catch (error) {
    fail("bundle-invalid", `${file} is not a bundle tarball: ${(error as Error).message}`, {
      variable: "BUNDLE",
      hint: "give the .tar.gz plc build wrote",
    });
  }
  return entries;
}

/** Structure, SHA256SUMS, MANIFEST.json and the bundle id, each problem named by file. */
export function verifyEntries(entries: readonly TarEntry[]): VerifyReport {
  const problems: Diagnostic[] = [];
  const problem = (message: string, hint?: string): void => {
    problems.push(diagnostic("bundle-invalid", message, { hint }));
  };
  const roots = new Set(entries.map((entry) => entry.path.split("/")[0] ?? ""));
  if (roots.size !== 1) {
    problem(`the tarball has ${roots.size} top-level entries, a bundle has one folder`);
    return { manifest: undefined, problems };
  }
  const root = [...roots][0] ?? "";
  const files = new Map<string, TarEntry>();
  for (const entry of entries) {
    const relative = entry.path.slice(root.length + 1);
    if (entry.path.startsWith("/") || entry.path.split("/").includes("..")) problem(`${entry.path}: path escapes the bundle`);
    if (entry.type === "File") files.set(relative, entry);
    else if (entry.type !== "Directory") problem(`${entry.path}: a ${entry.type} has no place in a bundle`);
  }
  const sums = files.get("SHA256SUMS");
  const manifestEntry = files.get("MANIFEST.json");
  if (sums === undefined) problem("SHA256SUMS is missing");
  if (manifestEntry === undefined) problem("MANIFEST.json is missing");
  if (sums === undefined || manifestEntry === undefined) return { manifest: undefined, problems };

  const listed = new Map<string, string>();
  for (const line of sums.content.toString("utf8").split("\n").filter((l) => l !== "")) {
    const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) {
      problem(`SHA256SUMS: malformed line '${line.slice(0, 80)}'`);
      continue;
    }
    listed.set(match[2], match[1]);
  }
  for (const [path, expected] of listed) {
    const file = files.get(path);
    if (file === undefined) problem(`${path} is missing`, "the tarball was truncated or edited");
    else if (sha256(file.content) !== expected) problem(`${path} was modified (sha256 mismatch)`, "rebuild it with plc build; never edit a bundle");
  }
  for (const path of files.keys()) {
    if (path !== "SHA256SUMS" && !listed.has(path)) problem(`${path} is not listed in SHA256SUMS`);
  }

  let manifest: Manifest | undefined;
  try {
    manifest = JSON.parse(manifestEntry.content.toString("utf8")) as Manifest;
  } catch {
    problem("MANIFEST.json is not valid JSON");
    return { manifest: undefined, problems };
  }
  for (const file of manifest.files) {
    const entry = files.get(file.path);
    if (entry !== undefined && sha256(entry.content) !== file.sha256) problem(`${file.path} differs from MANIFEST.json`);
  }
  // The id is the sha256 of the payload tar: rebuilt here from the entries, as pack wrote it.
  const payload: BundleFile[] = manifest.files.flatMap((file) => {
    const entry = files.get(file.path);
    return entry === undefined ? [] : [{ path: file.path, mode: Number.parseInt(file.mode, 8) as 0o644 | 0o755, content: entry.content }];
  });
  const mtime = manifestEntry.mtime;
  if (problems.length === 0 && sha256(writeTar(root, payload, mtime)) !== manifest.id) {
    problem("the bundle id does not match its files", "the tarball was repacked or edited");
  }
  return { manifest, problems };
}
