// What travels to a host: a bundle (a built tarball or one built in memory) and its secrets.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import * as tar from "tar";
import { displayPath, fail } from "../diagnostics.js";
import type { PackedBundle } from "../types.js";

export interface Shipment {
  /** The tarball's root folder, `<prefix>-<instance>`. */
  root: string;
  /** The bundle id from MANIFEST.json. */
  id: string;
  source: { kind: "file"; path: string } | { kind: "bytes"; data: Buffer };
  size: number;
  /** sha256 of the tarball's bytes as sent; the receiver checks it before unpacking. */
  sha256: string;
  /** The `*.secrets.env` content: it travels in the stream, never on a command line. */
  secrets: Buffer | undefined;
  /** Where the bundle came from, for messages. */
  description: string;
  /** Secret names the bundle needs, from MANIFEST.json. */
  secretKeys: string[];
}

const ROOT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** A shipment of a bundle plc just built, held in memory. */
export function shipmentOfPacked(packed: PackedBundle, root: string, secrets: string | undefined): Shipment {
  return {
    root,
    id: packed.id,
    source: { kind: "bytes", data: packed.tgz },
    size: packed.tgz.length,
    sha256: createHash("sha256").update(packed.tgz).digest("hex"),
    secrets: secrets === undefined || secrets === "" ? undefined : Buffer.from(secrets, "utf8"),
    description: `${packed.fileName} (built now)`,
    secretKeys: packed.manifest.secrets,
  };
}

/** Reads a built tarball's root folder and MANIFEST.json, and its secrets file: `--secrets FILE` or the one beside it. */
export async function readShipment(path: string, secretsFile: string | undefined, cwd: string): Promise<Shipment> {
  const display = displayPath(cwd, path);
  const notBundle = (why: string): never =>
    fail("invalid-argument", `${display} is not a plc bundle: ${why}`, { variable: "BUNDLE", hint: "give a tarball written by plc build" });
  if (!existsSync(path) || !statSync(path).isFile()) notBundle("no such file");
  const roots = new Set<string>();
  // Filled by tar's callbacks, which the compiler's flow analysis does not follow.
  const seen: { manifest: Buffer | undefined; hasInstaller: boolean } = { manifest: undefined, hasInstaller: false };
  try {
    await tar.t({
      file: path,
      strict: true,
      onReadEntry: (entry) => {
        const parts = entry.path.split("/");
        roots.add(parts[0] ?? "");
        const inner = parts.slice(1).join("/");
        if (inner === "install.sh") seen.hasInstaller = true;
        if (inner !== "MANIFEST.json") {
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on("data", (chunk: Buffer) => chunks.push(chunk));
        entry.on("end", () => {
          seen.manifest = Buffer.concat(chunks);
        });
      },
    });
  } catch (error) {
    notBundle((error as Error).message);
  }
  const root = [...roots][0] ?? "";
  if (roots.size !== 1 || !ROOT_NAME.test(root)) notBundle("it has no single <prefix>-<instance>/ root folder");
  if (!seen.hasInstaller) notBundle(`${root}/install.sh is missing`);
  let id = "";
  let secretKeys: string[] = [];
  try {
    const parsed = JSON.parse((seen.manifest ?? Buffer.from("")).toString("utf8")) as { id?: unknown; secrets?: unknown };
    id = typeof parsed.id === "string" ? parsed.id : "";
    secretKeys = Array.isArray(parsed.secrets) ? parsed.secrets.filter((key): key is string => typeof key === "string") : [];
  } catch {
    notBundle("MANIFEST.json is missing or not JSON");
  }
  if (!/^[0-9a-f]{64}$/.test(id)) notBundle("MANIFEST.json names no bundle id");

  const beside = path.endsWith(".tar.gz") ? `${path.slice(0, -".tar.gz".length)}.secrets.env` : undefined;
  const secretsPath = secretsFile ?? (beside !== undefined && existsSync(beside) ? beside : undefined);
  let secrets: Buffer | undefined;
  if (secretsPath !== undefined) {
    try {
      secrets = readFileSync(secretsPath);
    } catch {
      fail("invalid-argument", `cannot read the secrets file ${displayPath(cwd, secretsPath)}`, {
        variable: "--secrets",
        hint: "give the *.secrets.env plc build wrote beside the bundle",
      });
    }
  }
  return {
    root,
    id,
    source: { kind: "file", path },
    size: statSync(path).size,
    sha256: await sha256OfFile(path),
    secrets,
    description: display,
    secretKeys,
  };
}

function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => {
        resolve(hash.digest("hex"));
      });
  });
}
