// Bench: wall time of `plc ship` to a sandbox host and the ssh connections it opened, beside
// `ssh host true` measured in the same run against the same sshd. Needs root (a mount namespace).
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { freePort, runAsync, runPlc, SshClient } from "../ship/sandbox.js";

export interface ShipBench {
  runs: number;
  /** Median wall time of `plc ship BUNDLE @host` (a redeploy of the same bundle), in ms. */
  shipMs: number;
  /** ssh connections sshd logged per ship. */
  shipConnections: number;
  /** Median wall time of `ssh host true`, in ms. */
  sshTrueMs: number;
  sshTrueConnections: number;
  bundleBytes: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Starts a sandbox host, ships to it `runs` times and runs `ssh host true` as often. */
export async function benchShip(runs = 5): Promise<ShipBench> {
  const client = new SshClient();
  try {
    const host = await client.startHost();
    const httpPort = await freePort();
    const dist = join(client.dir, "dist");
    mkdirSync(dist);
    const built = await runPlc(["build", "-o", dist, "image=nginx:1.27", "prefix=ybs", "instance=bench", "healthcheck_timeout=5", `host_port=${httpPort}`]);
    if (built.status !== 0) throw new Error(`plc build failed: ${built.stderr}`);
    const bundle = built.stdout.split("\n").find((line) => line.endsWith(".tar.gz")) ?? "";
    const { size } = statSync(bundle);

    const sshTimes: number[] = [];
    const before = host.connections();
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const result = await runAsync("ssh", ["-F", client.config, "-p", String(host.port), host.address, "true"]);
      sshTimes.push(performance.now() - started);
      if (result.status !== 0) throw new Error(`ssh true failed: ${result.stderr}`);
    }
    const afterSsh = host.connections();
    const shipTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const result = await runPlc(["ship", bundle, `@${host.address}:${host.port}`, "-F", client.config]);
      shipTimes.push(performance.now() - started);
      if (result.status !== 0) throw new Error(`plc ship failed: ${result.stderr}`);
    }
    return {
      runs,
      shipMs: Math.round(median(shipTimes)),
      shipConnections: (host.connections() - afterSsh) / runs,
      sshTrueMs: Math.round(median(sshTimes)),
      sshTrueConnections: (afterSsh - before) / runs,
      bundleBytes: size,
    };
  } finally {
    client.close();
  }
}
