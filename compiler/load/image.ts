// The image config (`ENV PLAYLABS_PLUGINS`, GIT_COMMIT, UWSGI_*) from a `docker save` archive, read in TypeScript.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { list } from "tar/list";
import { displayPath, fail } from "../diagnostics.js";

// Config blobs are small; layers are skipped without being buffered.
const MAX_JSON_BYTES = 4 * 1024 * 1024;

/** What plc needs of a docker-save archive: the image's Env and the tags `docker load` gives it. */
export interface ImageArchive {
  env: Map<string, string>;
  /** RepoTags of every image in manifest.json, as docker wrote them (`app:v1`, `registry:5000/app:v1`). */
  tags: string[];
}

/** Reads the Env of the (single) image in a docker-save or OCI archive. */
export function readImageEnv(archive: string, cwd: string): Map<string, string> {
  return readImageArchive(archive, cwd).env;
}

/** Reads the Env and the RepoTags of a docker-save (or OCI with manifest.json) archive. */
export function readImageArchive(archive: string, cwd: string): ImageArchive {
  const display = displayPath(cwd, archive);
  const notArchive: (why: string) => never = (why) =>
    fail("invalid-image-archive", `${display} is not a docker image archive: ${why}`, {
      variable: "--image-archive",
      hint: "make it with: docker save IMAGE -o app.tar",
    });
  if (!existsSync(archive)) notArchive("no such file");
  const small = new Map<string, Buffer>();
  try {
    list({
      file: archive,
      sync: true,
      strict: true,
      onReadEntry: (entry) => {
        const name = entry.path.replace(/^\.\//, "");
        if (entry.type !== "File" || entry.size > MAX_JSON_BYTES) {
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on("data", (chunk: Buffer) => chunks.push(chunk));
        entry.on("end", () => small.set(name, Buffer.concat(chunks)));
      },
    });
  } catch (error) {
    notArchive((error as Error).message);
  }
  const manifestBytes = small.get("manifest.json");
  if (manifestBytes === undefined) notArchive("manifest.json is missing");
  let config: unknown;
  const tags: string[] = [];
  try {
    const manifest = JSON.parse(manifestBytes.toString("utf8")) as unknown;
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
  return { env: envOf(config), tags };
}

/** `docker image inspect` on a local engine; undefined when no docker answers. */
export function inspectLocalImage(image: string): Map<string, string> | undefined {
  try {
    const output = execFileSync("docker", ["image", "inspect", "--format", "{{json .Config}}", "--", image], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 10_000,
    });
    return envOf({ config: JSON.parse(output) as unknown });
  } catch {
    return undefined;
  }
}

function envOf(config: unknown): Map<string, string> {
  const env = new Map<string, string>();
  const list = (config as { config?: { Env?: unknown } } | undefined)?.config?.Env;
  if (!Array.isArray(list)) return env;
  for (const item of list) {
    if (typeof item !== "string") continue;
    const equals = item.indexOf("=");
    if (equals > 0) env.set(item.slice(0, equals), item.slice(equals + 1));
  }
  return env;
}
