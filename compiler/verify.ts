// `plc verify`: a built tarball checked against its own MANIFEST.json and SHA256SUMS.
import { diagnostic, type Diagnostic } from "./diagnostics.js";
import type { BundleTarball, TarEntry } from "./load/bundle.js";
import { sha256, writeTar } from "./pack/index.js";
import type { BundleFile, Manifest } from "./types.js";

export interface VerifyReport {
  manifest: Manifest | undefined;
  problems: Diagnostic[];
}

/** Structure, SHA256SUMS, MANIFEST.json and the bundle id, each problem named by file. */
export function verifyTarball(tarball: BundleTarball): VerifyReport {
  const problems: Diagnostic[] = [];
  const problem = (message: string, hint?: string): void => {
    problems.push(diagnostic("bundle-invalid", message, { hint }));
  };
  if (tarball.root === "") {
    problem(`the tarball has ${tarball.roots.length} top-level entries, a bundle has one folder`);
    return { manifest: undefined, problems };
  }
  const root = tarball.root;
  const files = new Map<string, TarEntry>();
  for (const entry of tarball.entries) {
    if (entry.path.startsWith("/") || entry.path.split("/").includes("..")) problem(`${entry.path}: path escapes the bundle`);
    if (entry.type === "File") files.set(entry.path, entry);
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
