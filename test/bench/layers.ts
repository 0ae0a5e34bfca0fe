// npm run bench: the stream plc ship writes for an air-gapped v2 whose base layer the host has, whole
// (--full-image) and layer by layer: bytes and the time to make them, read from the built tarball.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { readShipment } from "../../compiler/ship/shipment.js";
import { layeredChunks, planLayers, streamChunks } from "../../compiler/ship/transport.js";
import { CLI } from "../fixtures.js";
import { writeLayer } from "./layer-file.js";

export interface LayersBench {
  archiveMiB: number;
  full: { bytes: number; ms: number };
  layered: { bytes: number; ms: number; layers: string };
}

async function measure(chunks: AsyncIterable<Buffer>): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  let bytes = 0;
  for await (const chunk of chunks) bytes += chunk.length;
  return { bytes, ms: Math.round(performance.now() - started) };
}

/** A docker-save archive (base of `baseMiB`, a 1 MiB top layer), built into a bundle; both streams measured. */
export async function benchLayers(baseMiB: number): Promise<LayersBench> {
  const dir = mkdtempSync(join(tmpdir(), "plc-bench-layers-"));
  try {
    const src = join(dir, "src");
    mkdirSync(join(src, "base"), { recursive: true });
    mkdirSync(join(src, "top"));
    const base = writeLayer(join(src, "base", "layer.tar"), baseMiB * 1024 * 1024);
    const top = writeLayer(join(src, "top", "layer.tar"), 1024 * 1024);
    writeFileSync(join(src, "config.json"), JSON.stringify({ config: { Env: [] }, rootfs: { type: "layers", diff_ids: [`sha256:${base}`, `sha256:${top}`] } }));
    writeFileSync(join(src, "manifest.json"), JSON.stringify([{ Config: "config.json", RepoTags: ["local/app:v2"], Layers: ["base/layer.tar", "top/layer.tar"] }]));
    const archive = join(dir, "v2.tar");
    const tar = spawnSync("tar", ["-cf", archive, "-C", src, "manifest.json", "config.json", "base", "top"]);
    if (tar.status !== 0) throw new Error(`tar failed: ${String(tar.stderr)}`);
    rmSync(src, { recursive: true, force: true });
    const built = spawnSync(process.execPath, [CLI, "build", "-o", join(dir, "dist"), "--image-archive", archive, "image=local/app:v2"], { encoding: "utf8" });
    if (built.status !== 0) throw new Error(`plc build failed: ${built.stderr}`);
    const tarball = join(dir, "dist", readdirSync(join(dir, "dist")).find((file) => file.endsWith(".tar.gz")) ?? "");
    const shipment = await readShipment(tarball, undefined, dir);
    if (shipment.imageParts === undefined) throw new Error("the bundle has no image.parts");
    const plan = planLayers(shipment.imageParts, [`sha256:${base}`]);
    const full = await measure(streamChunks({ ...shipment, imageParts: undefined }));
    const layered = await measure(layeredChunks(shipment, plan.send));
    return { archiveMiB: baseMiB + 1, full, layered: { ...layered, layers: `${String(plan.layers - plan.held)} of ${String(plan.layers)}` } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
