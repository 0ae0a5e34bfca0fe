// --offline: the .deb closure of the roles' packages as a flat apt repository. apt-get resolves
// against an empty dpkg status (a host with nothing installed), so the closure is complete whatever
// the target already has; on the host apt takes only what is missing, from that repository alone.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fail } from "../diagnostics.js";

export interface AptRepository {
  debs: { name: string; content: Buffer }[];
  /** dpkg-scanpackages' index of the debs. */
  packages: string;
}

/**
 * Downloads the closure with this machine's apt sources (build on the release you target: Debian 12
 * for Debian 12). `cacheDir` keeps .debs between builds; without it they go to a temporary folder.
 */
export function downloadAptRepository(packages: readonly string[], cacheDir: string | undefined): AptRepository {
  for (const tool of ["apt-get", "dpkg-scanpackages"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status !== 0) {
      fail("offline-tool", { tool }, { variable: "--offline" });
    }
  }
  const work = mkdtempSync(join(tmpdir(), "plc-offline-"));
  try {
    const archives = cacheDir ?? join(work, "archives");
    mkdirSync(join(archives, "partial"), { recursive: true });
    writeFileSync(join(work, "status"), "");
    const options = [
      "-o", `Dir::State::status=${join(work, "status")}`,
      "-o", `Dir::Cache::archives=${archives}`,
      "-o", "Dir::Cache::pkgcache=",
      "-o", "Dir::Cache::srcpkgcache=",
      "-o", "Debug::NoLocking=1",
      ...(process.getuid?.() === 0 ? ["-o", "APT::Sandbox::User=root"] : []),
    ];
    const simulated = apt([...options, "-s", "--no-install-recommends", "install", ...packages]);
    const names = [...simulated.matchAll(/^Inst (\S+) \((\S+) .*\[(\S+)\]\)/gm)].map(([, name = "", version = "", arch = ""]) => `${name}_${version.replace(/:/g, "%3a")}_${arch}.deb`);
    apt([...options, "-y", "-qq", "--download-only", "--no-install-recommends", "install", ...packages]);
    const repo = join(work, "repo");
    mkdirSync(repo);
    for (const name of names) {
      if (!existsSync(join(archives, name))) fail("apt-missing-deb", { name }, { variable: "--offline" });
      copyFileSync(join(archives, name), join(repo, name));
    }
    const scan = spawnSync("dpkg-scanpackages", ["--multiversion", ".", "/dev/null"], { cwd: repo, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (scan.status !== 0) fail("apt-failed", { step: "dpkg-scanpackages", problem: scan.stderr, isDownload: false }, { variable: "--offline" });
    return { debs: names.sort().map((name) => ({ name, content: readFileSync(join(repo, name)) })), packages: scan.stdout };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function apt(args: string[]): string {
  const result = spawnSync("apt-get", args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (result.status !== 0) {
    fail("apt-failed", { step: `apt-get ${args.filter((arg) => !arg.includes("::")).join(" ")}`, problem: result.stderr.trim(), isDownload: true }, { variable: "--offline" });
  }
  return result.stdout;
}
