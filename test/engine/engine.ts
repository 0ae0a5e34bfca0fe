// The engine host: a sandbox host (test/host/sandbox.ts) with the real dockerd inside instead of
// the docker shim. Same namespaces (so bind-mount sources resolve where install.sh writes them and
// nothing a container sends can leave the loopback-only network), systemctl still the shim.
// Images are made locally from a busybox-static rootfs: no registry is reachable, none is needed.
// See test/engine/README.md.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { TestContext } from "node:test";
import { ROOT } from "../fixtures.js";
import { SandboxHost, q, requireSandbox, type RunResult } from "../host/sandbox.js";

const ENGINE_DIR = join(ROOT, "test", "engine");
const START_DOCKERD = join(ENGINE_DIR, "start-dockerd.sh");
const APP_START = join(ENGINE_DIR, "image", "start.sh");
const PG_ROOTFS_HOOK = join(ENGINE_DIR, "image", "postgres-rootfs.sh");
const PG_ENTRYPOINT = join(ENGINE_DIR, "image", "postgres-entrypoint.sh");
/** What is expensive to make (the busybox-static download) is kept here between runs; CI may cache it. */
export const ENGINE_CACHE = process.env["PLC_ENGINE_CACHE"] ?? join(ROOT, ".cache", "engine");

/** How a test app image behaves (test/engine/image/start.sh). */
export interface AppImage {
  /** What the app answers on /. */
  version: string;
  mode?: "ok" | "wrong-port" | "crash";
  /** Config.User: a name the image knows (app is 1000:1000) or uid:gid. */
  user?: string;
  /** More ENV lines (KEY=value). */
  env?: string[];
}

/** Root, the sandbox's tools and the engine's; a test calls this before EngineHost.start. */
export function requireEngine(t: TestContext, ...tools: string[]): boolean {
  return requireSandbox(t, "dockerd", "docker", "containerd", "runc", "iptables", "dpkg-deb", "apt-get", ...tools);
}

function run(command: string, args: string[], cwd?: string): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Debian's busybox is dynamically linked; busybox-static's binary is unpacked (never installed, it would replace busybox). */
function busyboxStatic(): string {
  const binary = join(ENGINE_CACHE, "busybox");
  if (existsSync(binary)) return binary;
  mkdirSync(ENGINE_CACHE, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "plc-busybox-"));
  try {
    run("apt-get", ["download", "-qq", "busybox-static"], work);
    const deb = readdirSync(work).find((file) => file.endsWith(".deb"));
    if (deb === undefined) throw new Error("apt-get download busybox-static wrote no .deb");
    const unpacked = join(work, "root");
    run("dpkg-deb", ["--extract", join(work, deb), unpacked]);
    // Several test files may start at once: whoever renames last wins, with the same bytes.
    copyFileSync(join(unpacked, "bin", "busybox"), join(work, "busybox"));
    chmodSync(join(work, "busybox"), 0o755);
    renameSync(join(work, "busybox"), binary);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}

/** The app's rootfs tarball (busybox applets, users root and app 1000:1000, /app/start.sh), cached by content. */
function appRootfs(): string {
  const busybox = busyboxStatic();
  const start = readFileSync(APP_START);
  const key = createHash("sha256").update(start).update(readFileSync(busybox)).digest("hex").slice(0, 12);
  const tarball = join(ENGINE_CACHE, `app-rootfs-${key}.tar`);
  if (existsSync(tarball)) return tarball;
  const root = mkdtempSync(join(tmpdir(), "plc-rootfs-"));
  try {
    for (const dir of ["bin", "etc", "app/log", "tmp", "proc", "sys", "dev", "root"]) mkdirSync(join(root, dir), { recursive: true });
    copyFileSync(busybox, join(root, "bin", "busybox"));
    chmodSync(join(root, "bin", "busybox"), 0o755);
    const applets = run(busybox, ["--list"]).split("\n").filter((applet) => applet !== "" && applet !== "busybox");
    run("sh", ["-c", `cd ${q(join(root, "bin"))} && for a in ${applets.map(q).join(" ")}; do ln -s busybox "$a"; done && cd .. && ln -s bin sbin && mkdir usr && ln -s ../bin usr/bin`]);
    writeFileSync(join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    writeFileSync(join(root, "etc", "group"), "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n");
    copyFileSync(APP_START, join(root, "app", "start.sh"));
    chmodSync(join(root, "app", "start.sh"), 0o755);
    chmodSync(join(root, "tmp"), 0o1777);
    run("chown", ["-R", "1000:1000", join(root, "app")]);
    // mmdebstrap picks its output format from the name's extension: the partial file ends in .tar too.
  const partial = tarball.replace(/\.tar$/, `.${String(process.pid)}.partial.tar`);
    run("tar", ["--numeric-owner", "-C", root, "-cf", partial, "."]);
    renameSync(partial, tarball);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return tarball;
}

/**
 * A Debian 12 minbase rootfs tarball made by mmdebstrap with `args` (packages, hooks), cached at
 * `tarball`: made once, written under a partial name and renamed, so a cut run leaves no half file.
 */
export function debianRootfs(tarball: string, args: readonly string[]): string {
  if (existsSync(tarball)) return tarball;
  mkdirSync(ENGINE_CACHE, { recursive: true });
  // mmdebstrap picks its output format from the name's extension: the partial file ends in .tar too.
  const partial = tarball.replace(/\.tar$/, `.${String(process.pid)}.partial.tar`);
  const result = spawnSync(
    "mmdebstrap",
    [
      "--quiet",
      "--variant=minbase",
      ...args,
      "bookworm",
      partial,
      // The machine's own Debian sources (a CI mirror or proxy included), else Debian's default.
      existsSync("/etc/apt/sources.list.d/debian.sources") ? "/etc/apt/sources.list.d/debian.sources" : "http://deb.debian.org/debian",
    ],
    { encoding: "utf8", timeout: 600_000 },
  );
  if (result.status !== 0) {
    rmSync(partial, { force: true });
    throw new Error(`mmdebstrap failed (${String(result.status ?? result.signal)}): ${result.stderr}`);
  }
  renameSync(partial, tarball);
  return tarball;
}

/**
 * A PostgreSQL 15 rootfs from the Debian archive (mmdebstrap: the only place packages come from),
 * laid out like the official image by postgres-rootfs.sh. About 2 minutes and 430 MB, so cached.
 */
export function postgresRootfs(): string {
  const hook = readFileSync(PG_ROOTFS_HOOK);
  const key = createHash("sha256").update(hook).update("bookworm postgresql-15 gosu").digest("hex").slice(0, 12);
  const tarball = join(ENGINE_CACHE, `postgres-rootfs-${key}.tar`);
  return debianRootfs(tarball, [
    "--include=postgresql-15,gosu",
    // postgresql-common would otherwise create a cluster in the image.
    '--setup-hook=mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.d/plc.conf"',
    `--customize-hook=copy-in ${PG_ROOTFS_HOOK} /tmp`,
    '--customize-hook=chroot "$1" sh /tmp/postgres-rootfs.sh && rm "$1/tmp/postgres-rootfs.sh"',
  ]);
}

export class EngineHost {
  /** The sandbox host the engine runs in: install(), must(), read() work on it as in test/host. */
  readonly host: SandboxHost;
  private readonly rootfs: string;

  private constructor(host: SandboxHost, rootfs: string) {
    this.host = host;
    this.rootfs = rootfs;
  }

  /** Starts a sandbox host without the docker shim, then dockerd in it; t.after tears both down. */
  static async start(t: TestContext): Promise<EngineHost> {
    const rootfs = appRootfs();
    const host = await SandboxHost.start(t, { engine: true });
    // The sandbox's t.after (kill pid 1) runs first; the containers' cgroups are empty after it.
    t.after(() => {
      removeCgroups(basename(host.dir));
    });
    // The checkout may be under /root or /home, which the host covers: the inputs go through its directory.
    const inside = join(host.dir, "engine");
    mkdirSync(inside);
    copyFileSync(START_DOCKERD, join(inside, "start-dockerd.sh"));
    copyFileSync(rootfs, join(inside, "app-rootfs.tar"));
    const engine = new EngineHost(host, join(inside, "app-rootfs.tar"));
    engine.startDaemon();
    return engine;
  }

  startDaemon(): void {
    this.host.must(`sh ${q(join(this.host.dir, "engine", "start-dockerd.sh"))} ${q(this.host.dir)}`, { timeout: 60_000 });
  }

  /** Stops dockerd as systemd would (SIGTERM, it stops its containers first) and waits for it to exit. */
  stopDaemon(): void {
    this.host.must(
      `pid=$(cat /run/docker.pid) && kill -TERM "$pid" && i=0 && while kill -0 "$pid" 2>/dev/null; do i=$((i + 1)); [ $i -lt 600 ] || exit 1; sleep 0.1; done`,
      { timeout: 90_000 },
    );
  }

  /**
   * Debian's docker-registry on 127.0.0.1:5000 of the host's loopback (dockerd trusts 127.0.0.0/8
   * over plain HTTP), storage in the sandbox directory: images named 127.0.0.1:5000/… take the
   * real pull path. Returns once it answers.
   */
  startRegistry(): void {
    const dir = join(this.host.dir, "registry");
    mkdirSync(dir);
    writeFileSync(
      join(dir, "config.yml"),
      `version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: ${dir}/data}}\nhttp: {addr: 127.0.0.1:5000}\n`,
    );
    this.host.must(
      `setsid docker-registry serve ${q(join(dir, "config.yml"))} </dev/null >>${q(join(dir, "registry.log"))} 2>&1 & ` +
        `i=0; until curl -sf http://127.0.0.1:5000/v2/ >/dev/null; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done`,
    );
  }

  /** dockerd's log so far (e.g. to prove nothing was pulled). */
  daemonLog(): string {
    const log = join(this.host.dir, "dockerd.log");
    return existsSync(log) ? readFileSync(log, "utf8") : "";
  }

  /** Makes an app image under ref with docker import (nothing pulled). */
  appImage(ref: string, image: AppImage): void {
    const changes = [
      `USER ${image.user ?? "app"}`,
      `ENV APP_VERSION=${image.version} APP_MODE=${image.mode ?? "ok"}`,
      ...(image.env ?? []).map((line) => `ENV ${line}`),
      "WORKDIR /app",
      "EXPOSE 8000",
      'ENTRYPOINT ["/app/start.sh"]',
    ];
    this.docker(["import", ...changes.flatMap((change) => ["--change", change]), this.rootfs, ref]);
  }

  /**
   * Makes the PostgreSQL image (see postgresRootfs) under ref, postgres:17 by default: the postgres
   * plugin's default, so nothing is pulled. It is PostgreSQL 15 under that tag; the plugin only needs
   * the official image's contract.
   */
  postgresImage(rootfs: string, ref = "postgres:17"): void {
    const context = join(this.host.dir, "engine", "postgres");
    mkdirSync(context, { recursive: true });
    const staged = join(this.host.dir, "engine", "postgres-rootfs.tar");
    if (!existsSync(staged)) {
      try {
        linkSync(rootfs, staged);
      } catch {
        copyFileSync(rootfs, staged);
      }
    }
    copyFileSync(PG_ENTRYPOINT, join(context, "docker-entrypoint.sh"));
    chmodSync(join(context, "docker-entrypoint.sh"), 0o755);
    // docker import cannot set STOPSIGNAL: a one-step classic build on the imported rootfs does.
    writeFileSync(
      join(context, "Dockerfile"),
      [
        "FROM plc-engine/postgres-rootfs:15",
        "COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/15/bin PGDATA=/var/lib/postgresql/data LANG=C.UTF-8",
        "STOPSIGNAL SIGINT",
        "EXPOSE 5432",
        'ENTRYPOINT ["docker-entrypoint.sh"]',
        'CMD ["postgres"]',
        "",
      ].join("\n"),
    );
    if (this.dockerResult(["image", "inspect", "plc-engine/postgres-rootfs:15"]).status !== 0) {
      this.docker(["import", staged, "plc-engine/postgres-rootfs:15"], { timeout: 300_000 });
    }
    this.host.must(`DOCKER_BUILDKIT=0 docker build --quiet --tag ${q(ref)} ${q(context)} >/dev/null`, { timeout: 300_000 });
  }

  /** The docker CLI inside; throws with its output on failure. */
  docker(args: string[], options: { timeout?: number } = {}): string {
    return this.host.must(`docker ${args.map(q).join(" ")}`, options);
  }

  dockerResult(args: string[]): RunResult {
    return this.host.sh(`docker ${args.map(q).join(" ")}`);
  }

  /** `docker inspect --format` of a container (or image with --type image), trimmed. */
  inspect(target: string, format: string): string {
    return this.docker(["inspect", "--format", format, target]).trim();
  }

  /** An HTTP GET from inside the host (the loopback-only network); "" when nothing answers. */
  get(port: number, path = "/"): string {
    return this.host.sh(`curl --silent --max-time 5 ${q(`http://127.0.0.1:${String(port)}${path}`)}`).stdout;
  }
}

/** Removes the (empty) cgroups dockerd made under /<sandbox dir name> in every hierarchy. */
function removeCgroups(parent: string): void {
  const roots = existsSync("/sys/fs/cgroup/cgroup.controllers")
    ? ["/sys/fs/cgroup"]
    : readdirSync("/sys/fs/cgroup").map((controller) => join("/sys/fs/cgroup", controller));
  for (const root of roots) {
    const dir = join(root, parent);
    if (!existsSync(dir)) continue;
    // Depth first; a cgroup whose last process is still exiting refuses rmdir for a moment.
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        removeTree(dir);
        break;
      } catch {
        spawnSync("sleep", ["0.1"]);
      }
    }
  }
}

function removeTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeTree(join(dir, entry.name));
  rmdirSync(dir);
}
