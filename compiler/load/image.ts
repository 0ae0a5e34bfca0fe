// The image config (`ENV PLAYLABS_PLUGINS`, GIT_COMMIT, UWSGI_*) from a `docker save` archive, read in TypeScript.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { list } from "tar/list";
import { displayPath, fail } from "../diagnostics.js";
import { envOf } from "./local-image.js";

// Config blobs are small; layers are skipped without being buffered.
const MAX_JSON_BYTES = 4 * 1024 * 1024;

/** What plc needs of a docker-save archive: the image's Env and the tags `docker load` gives it. */
export interface ImageArchive {
  env: Map<string, string>;
  /** RepoTags of every image in manifest.json, as docker wrote them (`app:v1`, `registry:5000/app:v1`). */
  tags: string[];
  /** image.parts (see formatImageParts), or undefined when the archive cannot travel layer by layer. */
  parts: string | undefined;
}

/** One regular file of a docker-save archive, by its content address. */
export interface ArchiveFile {
  path: string;
  size: number;
  sha256: string;
}

/** A path install.sh can check with sha256sum and name in a tar member without quoting trouble. */
const SAFE_PART_PATH = /^[A-Za-z0-9._@+-][A-Za-z0-9._/@+-]*$/;

/**
 * image.parts: what lets plc ship send only the layers a host lacks. One line per regular file of the
 * archive, `layer|file SHA256 SIZE PATH`: the layers first, in the order docker load stacks them, then
 * every other file by path. Undefined unless each layer file's sha256 is its diff ID (docker's
 * uncompressed layer tars; a gzip-compressed OCI blob is not), since that is how the host proves it has
 * a layer left out; and unless the archive holds only regular files and directories (docker save links
 * a layer repeated in one image), with paths install.sh can check.
 */
export function formatImageParts(files: readonly ArchiveFile[], hasOnlyFiles: boolean, manifest: unknown, config: unknown): string | undefined {
  if (!hasOnlyFiles || !Array.isArray(manifest) || manifest.length !== 1) return undefined;
  const layers = (manifest[0] as { Layers?: unknown } | null)?.Layers;
  const diffIds = (config as { rootfs?: { diff_ids?: unknown } } | null)?.rootfs?.diff_ids;
  if (!Array.isArray(layers) || !Array.isArray(diffIds) || layers.length !== diffIds.length) return undefined;
  const byPath = new Map(files.map((file) => [file.path, file]));
  // No name starting with a dot either: install.sh hands docker load the parts by the glob `*`.
  if (files.some((file) => !SAFE_PART_PATH.test(file.path) || file.path.split("/").some((part) => part === "" || part.startsWith(".")))) return undefined;
  const layerFiles: ArchiveFile[] = [];
  for (const [index, layer] of layers.entries()) {
    const file = typeof layer === "string" ? byPath.get(layer.replace(/^\.\//, "")) : undefined;
    if (file === undefined || diffIds[index] !== `sha256:${file.sha256}` || layerFiles.includes(file)) return undefined;
    layerFiles.push(file);
  }
  const others = files.filter((file) => !layerFiles.includes(file)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const line = (kind: string) => (file: ArchiveFile) => `${kind} ${file.sha256} ${String(file.size)} ${file.path}\n`;
  return layerFiles.map(line("layer")).join("") + others.map(line("file")).join("");
}

/** Reads the Env of the (single) image in a docker-save or OCI archive. */
export function readImageEnv(archive: string, cwd: string): Map<string, string> {
  return readImageArchive(archive, cwd).env;
}

/** Reads the Env and the RepoTags of a docker-save (or OCI with manifest.json) archive. */
export function readImageArchive(archive: string, cwd: string): ImageArchive {
  const display = displayPath(cwd, archive);
  const notArchive: (why: string) => never = (why) =>
    fail("image-archive-invalid", { file: display, why }, { variable: "--image-archive" });
  if (!existsSync(archive)) notArchive("no such file");
  const small = new Map<string, Buffer>();
  const files: ArchiveFile[] = [];
  const types = new Set<string>();
  try {
    list({
      file: archive,
      sync: true,
      strict: true,
      onReadEntry: (entry) => {
        const name = entry.path.replace(/^\.\//, "");
        if (entry.type !== "File") {
          types.add(entry.type);
          entry.resume();
          return;
        }
        // Every file is hashed as it passes (image.parts); only small ones are kept.
        const hash = createHash("sha256");
        const isKept = entry.size <= MAX_JSON_BYTES;
        const chunks: Buffer[] = [];
        entry.on("data", (chunk: Buffer) => {
          hash.update(chunk);
          if (isKept) chunks.push(chunk);
        });
        entry.on("end", () => {
          files.push({ path: name, size: entry.size, sha256: hash.digest("hex") });
          if (isKept) small.set(name, Buffer.concat(chunks));
        });
      },
    });
  } catch (error) {
    notArchive((error as Error).message);
  }
  const manifestBytes = small.get("manifest.json");
  if (manifestBytes === undefined) notArchive("manifest.json is missing");
  let config: unknown;
  let manifest: unknown;
  const tags: string[] = [];
  try {
    manifest = JSON.parse(manifestBytes.toString("utf8")) as unknown;
    for (const entry of Array.isArray(manifest) ? (manifest as unknown[]) : []) {
      const repoTags = (entry as { RepoTags?: unknown } | null)?.RepoTags;
      if (Array.isArray(repoTags)) for (const tag of repoTags) if (typeof tag === "string") tags.push(tag);
    }
    const first: unknown = Array.isArray(manifest) ? manifest[0] : undefined;
    const configName = (first as { Config?: unknown } | undefined)?.Config;
    if (typeof configName !== "string") notArchive("manifest.json names no Config");
    const configBytes = small.get(configName);
    if (configBytes === undefined) notArchive(`config ${configName} is missing`);
    config = JSON.parse(configBytes.toString("utf8"));
  } catch (error) {
    notArchive((error as Error).message);
  }
  return { env: envOf(config), tags, parts: formatImageParts(files, [...types].every((type) => type === "Directory") && new Set(files.map((file) => file.path)).size === files.length, manifest, config) };
}

