// What travels to a host: a bundle (a built tarball or one built in memory) and its secrets.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { displayPath, fail } from "../diagnostics.js";
import { readBundleManifest } from "../load/bundle.js";
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
  /** BUNDLE.sig (plc sign): a host whose deploy user may only run plc-install checks it. */
  signature: Buffer | undefined;
}

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
    signature: undefined,
  };
}

/** Reads a built tarball's root folder and MANIFEST.json, and its secrets file: `--secrets FILE` or the one beside it. */
export async function readShipment(path: string, secretsFile: string | undefined, cwd: string): Promise<Shipment> {
  const display = displayPath(cwd, path);
  const { root, manifest } = readBundleManifest(path, cwd);
  const id = manifest.id;
  const secretKeys = manifest.secrets;
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
    signature: existsSync(`${path}.sig`) ? readFileSync(`${path}.sig`) : undefined,
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
