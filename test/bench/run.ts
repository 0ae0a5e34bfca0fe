// npm run bench: wall times of the build, per instance over 1000 instances, and of plc ship.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { checkSpec, compileWritten } from "../../compiler/index.js";
import { loadSpec } from "../../compiler/load/index.js";
import { CLI, FIXTURES, compileFixture, readFixture } from "../fixtures.js";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function timed(command: string, args: readonly string[]): number {
  const start = performance.now();
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(result.stderr);
  return performance.now() - start;
}

/** plc build of the largest fixture (plugins-full), as a process; its median, node's own start, the tarball's size. */
function benchCliBuild(runs: number): { build: number; node: number; bytes: number } {
  const dir = mkdtempSync(join(tmpdir(), "plc-bench-"));
  const builds: number[] = [];
  const nodes: number[] = [];
  const args = [CLI, "build", "-o", dir, "-i", join(FIXTURES, "plugins-full", "inventory"), "image=betagouv/mrs:master", "prefix=ybs", "instance=hack", "-p", "postgres,uwsgi,django", "backup_password=foo", "env.SECRET_KEY=x"];
  try {
    for (let run = 0; run < runs; run++) {
      builds.push(timed(process.execPath, args));
      nodes.push(timed(process.execPath, ["-e", "0"]));
    }
    const tarball = readdirSync(dir).find((file) => file.endsWith(".tar.gz")) ?? "";
    return { build: median(builds), node: median(nodes), bytes: statSync(join(dir, tarball)).size };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchInProcess(runs: number): number {
  const fixture = readFixture("plugins-full");
  compileFixture(fixture);
  const start = performance.now();
  for (let run = 0; run < runs; run++) compileFixture(fixture);
  return (performance.now() - start) / runs;
}

/** One process, one inventory loaded once, 1000 instances: what a CI building every branch would do. */
function benchInstances(count: number): number {
  const start = performance.now();
  const written = loadSpec({
    words: [{ text: "prefix=yourproject", index: 1 }, { text: "instance=production", index: 2 }, { text: "image=yourimage:production", index: 3 }, { text: "backup_password=foo", index: 4 }],
    plugins: [{ text: "postgres,django", index: 6 }],
    inventoryDir: join(FIXTURES, "inventory-production", "inventory"),
    vaultPasswordFiles: [],
    pluginsDirs: [],
    imageArchive: undefined,
    cwd: FIXTURES,
  });
  for (let index = 0; index < count; index++) {
    const argv = written.argv.map((a) => (a.path[0] === "instance" ? { ...a, value: `branch-${index}` } : a));
    compileWritten({ ...written, argv }, { plcVersion: "bench", mtime: 0 });
  }
  return (performance.now() - start) / count;
}

/** Load, resolve and validate of a group_vars file with `count` env keys, in ms (best of 3). */
function checkEnvKeys(count: number): number {
  const dir = mkdtempSync(join(tmpdir(), "plc-bench-env-"));
  try {
    mkdirSync(join(dir, "group_vars"));
    const keys = Array.from({ length: count }, (_, index) => `  K${index}: v${index}\n`).join("");
    writeFileSync(join(dir, "group_vars", "all.yml"), `project_staging_image: app:v1\nproject_staging_env:\n${keys}`);
    const options = { words: [], plugins: [], inventoryDir: dir, vaultPasswordFiles: [], pluginsDirs: [], imageArchive: undefined, cwd: dir };
    const times: number[] = [];
    for (let run = 0; run < 3; run++) {
      const start = performance.now();
      checkSpec(options);
      times.push(performance.now() - start);
    }
    return Math.min(...times);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: [string, string][] = [];
  const cli = benchCliBuild(10);
  rows.push(["plc build, largest fixture (median of 10)", `${cli.build.toFixed(1)} ms`]);
  rows.push(["node -e 0 (median of 10, same run)", `${cli.node.toFixed(1)} ms (plc build is ${(cli.build / cli.node).toFixed(1)}x; goal within 2x)`]);
  rows.push(["bundle size, largest fixture", `${cli.bytes} bytes (${(cli.bytes / 1024).toFixed(1)} KiB; goal under 32 KiB)`]);
  rows.push(["build in process (plugins-full, mean of 50)", `${benchInProcess(50).toFixed(2)} ms`]);
  // A ratio, not a time: linear work gives ~10x for 10x the keys, the old quadratic resolve ~100x.
  const small = checkEnvKeys(2000);
  const large = checkEnvKeys(20000);
  rows.push(["20,000 vs 2,000 env keys (load+resolve+validate)", `${(large / small).toFixed(1)}x (${large.toFixed(0)} ms vs ${small.toFixed(0)} ms; goal near 10x, under 2 s)`]);
  const perInstance = benchInstances(1000);
  rows.push(["1000 instances in one process", `${perInstance.toFixed(2)} ms per instance (goal < 2 ms)`]);
  try {
    const { benchShip } = await import("./ship.js");
    const ship = await benchShip(5);
    rows.push(["plc ship to a sandbox host", JSON.stringify(ship)]);
  } catch (error) {
    rows.push(["plc ship to a sandbox host", `not measured: ${(error as Error).message.split("\n")[0] ?? ""}`]);
  }
  try {
    const { benchRollout } = await import("./rollout.js");
    const rollout = await benchRollout(20);
    rows.push([
      "rollout to 20 hosts, --batch 5 vs one by one",
      `${String(rollout.batchedMs)} ms vs ${String(rollout.sequentialMs)} ms (${(rollout.sequentialMs / rollout.batchedMs).toFixed(1)}x faster)`,
    ]);
  } catch (error) {
    rows.push(["rollout to 20 hosts", `not measured: ${(error as Error).message.split("\n")[0] ?? ""}`]);
  }
  for (const [name, value] of rows) process.stdout.write(`${name.padEnd(48)} ${value}\n`);
}

await main();
