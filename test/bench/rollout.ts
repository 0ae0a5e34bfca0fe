// Bench: a rollout to 20 hosts (each its own sshd in its own network namespace) with --batch 5,
// against the same ships one host after another, in the same run. Needs root.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freeNetworks, SshClient, type SshHost } from "../ship/sandbox.js";

export interface RolloutBench {
  hosts: number;
  /** Wall time of `plc ship … --batch 5` (canary, then batches of 5), in ms. */
  batchedMs: number;
  /** Wall time of the same ship with `--parallel 1`: one host after another, in ms. */
  sequentialMs: number;
}

export async function benchRollout(count = 20): Promise<RolloutBench> {
  const client = new SshClient();
  try {
    const hosts: SshHost[] = [];
    for (const network of freeNetworks(count)) hosts.push(await client.startHost({ network }));
    const dist = join(client.dir, "dist");
    mkdirSync(dist);
    const built = await client.plc(["build", "-o", dist, "image=nginx:1.27", "prefix=ybs", "instance=fleet", "healthcheck_timeout=5", "host_port=18095"]);
    if (built.status !== 0) throw new Error(`plc build failed: ${built.stderr}`);
    const bundle = built.stdout.split("\n").find((line) => line.endsWith(".tar.gz")) ?? "";
    const ship = async (flags: string[]): Promise<number> => {
      const started = performance.now();
      const result = await client.plc(["ship", bundle, ...hosts.map((host) => `@${host.address}`), "-F", client.config, ...flags]);
      if (result.status !== 0) throw new Error(`plc ship failed: ${result.stderr}`);
      return Math.round(performance.now() - started);
    };
    // A first deploy everywhere, so both measured runs are redeploys of the same release.
    await ship(["--parallel", "10"]);
    const sequentialMs = await ship(["--parallel", "1"]);
    const batchedMs = await ship(["--batch", "5"]);
    return { hosts: count, batchedMs, sequentialMs };
  } finally {
    client.close();
  }
}
