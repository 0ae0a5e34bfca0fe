// What travels to a host: a bundle (a built tarball or one built in memory) and its secrets.
import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { displayPath, fail } from "../diagnostics.js";
import { readBundleManifest, readBundleTarball } from "../load/bundle.js";
import { NOTIFY_CONFIG_FILE, parseNotifyConfig, readNotifySecrets } from "../notify/settings.js";
import type { NotifyConfig, NotifySecrets } from "../notify/targets.js";
import { tgzBytes } from "../pack/index.js";
import type { PackedBundle } from "../types.js";
import type { Destination } from "./ssh.js";
import { parseImageParts, readTarballFile, type ImagePart } from "./layers.js";

const IMAGE_PARTS_FILE = "image.parts";

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
  /** Where plc ship sends the deploy's events: the bundle's notify.json and the secrets file's tokens. */
  notify: { config: NotifyConfig; secrets: NotifySecrets } | undefined;
  /** BUNDLE.sig (plc sign): a host whose deploy user may only run plc-install checks it. */
  signature: Buffer | undefined;
  /**
   * The image archive's files (the bundle's image.parts), when the image may travel layer by layer:
   * the host lists its layers first and gets only those it lacks. Undefined: the tarball goes whole
   * (no image, a signed bundle, which plc-install needs whole, or plc ship --full-image).
   */
  imageParts: ImagePart[] | undefined;
}

/** image.parts of a bundle whose image.tar may be left behind; undefined when it must travel whole. */
function imagePartsOf(files: readonly { path: string; content: string | Buffer }[], hasImage: boolean, signature: Buffer | undefined): ImagePart[] | undefined {
  if (!hasImage || signature !== undefined) return undefined;
  const text = fileText(files, IMAGE_PARTS_FILE);
  return text === undefined ? undefined : parseImageParts(text);
}

/** notify.json of the bundle with the secrets that go with it (a secrets.env inside when embedded). */
function notifyOf(configText: string | undefined, secrets: Buffer | undefined, embedded: string | undefined): Shipment["notify"] {
  const config = configText === undefined ? undefined : parseNotifyConfig(configText);
  if (config === undefined) return undefined;
  return { config, secrets: readNotifySecrets(secrets?.toString("utf8") ?? embedded) };
}

function fileText(files: readonly { path: string; content: string | Buffer }[], path: string): string | undefined {
  const content = files.find((file) => file.path === path)?.content;
  return content === undefined ? undefined : content.toString();
}

/** One host and what it gets. */
export interface ShipPlan {
  destination: Destination;
  shipment: Shipment;
}

/**
 * A shipment of a bundle plc just built: held in memory, or, with an image archive inside, written in
 * chunks to a temporary file (removed when plc exits) and sent from there like a built tarball.
 */
export function shipmentOfPacked(packed: PackedBundle, root: string, secrets: string | undefined): Shipment {
  const hash = createHash("sha256");
  let source: Shipment["source"];
  let size = 0;
  if (packed.isStreamed) {
    const dir = mkdtempSync(join(tmpdir(), "plc-ship-"));
    process.once("exit", () => {
      rmSync(dir, { recursive: true, force: true });
    });
    const path = join(dir, packed.fileName);
    const fd = openSync(path, "wx", 0o600);
    try {
      for (const chunk of packed.tgz()) {
        hash.update(chunk);
        size += chunk.length;
        writeSync(fd, chunk);
      }
    } finally {
      closeSync(fd);
    }
    source = { kind: "file", path };
  } else {
    const data = tgzBytes(packed);
    hash.update(data);
    size = data.length;
    source = { kind: "bytes", data };
  }
  return {
    root,
    id: packed.id,
    source,
    size,
    sha256: hash.digest("hex"),
    secrets: secrets === undefined || secrets === "" ? undefined : Buffer.from(secrets, "utf8"),
    description: `${packed.fileName} (built now)`,
    secretKeys: packed.manifest.secrets,
    notify: notifyOf(fileText(packed.files, NOTIFY_CONFIG_FILE), secrets === undefined ? undefined : Buffer.from(secrets, "utf8"), fileText(packed.files, "secrets.env")),
    signature: undefined,
    imageParts: imagePartsOf(packed.files, [...packed.streamed, ...packed.files].some((file) => file.path === "image.tar"), undefined),
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
  // One more pass over the tarball only for a bundle that sends notifications (an image archive makes passes long).
  const hasNotify = manifest.files.some((file) => file.path === NOTIFY_CONFIG_FILE);
  const signature = existsSync(`${path}.sig`) ? readFileSync(`${path}.sig`) : undefined;
  const hasImage = manifest.files.some((file) => file.path === "image.tar");
  const hasParts = hasImage && signature === undefined && manifest.files.some((file) => file.path === IMAGE_PARTS_FILE);
  const kept = hasNotify ? readBundleTarball(path, cwd, (file) => file === NOTIFY_CONFIG_FILE || file === "secrets.env").entries : [];
  const parts = hasParts ? await readTarballFile(path, `${root}/${IMAGE_PARTS_FILE}`) : undefined;
  return {
    root,
    id,
    source: { kind: "file", path },
    size: statSync(path).size,
    sha256: await sha256OfFile(path),
    secrets,
    description: display,
    secretKeys,
    notify: notifyOf(fileText(kept, NOTIFY_CONFIG_FILE), secrets, fileText(kept, "secrets.env")),
    signature,
    imageParts: imagePartsOf(parts === undefined ? [] : [{ path: IMAGE_PARTS_FILE, content: parts }], hasImage, signature),
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
