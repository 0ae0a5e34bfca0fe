// The sandbox host: a private mount, pid and network namespace with tmpfs over every place the
// bundle writes, shims for docker and systemctl, and the real restic, lftp, nginx, logrotate, curl.
// See test/host/README.md for how to start one and the shims' contract.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { CLI, ROOT } from "../fixtures.js";
import { isRoot, requireTool } from "../tools.js";

export const HOST_DIR = join(ROOT, "test", "host");
const INIT = join(HOST_DIR, "sandbox-init.sh");
/** PATH inside the sandbox: the shims' directory leads, as it does for the bundle's scripts. */
export const SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface HostOptions {
  /** Tools that look absent inside (their directory becomes symlinks to everything else). */
  hide?: string[];
  /** The shell /bin/sh runs: dash (Debian's) or busybox sh (bound over dash). */
  shell?: "dash" | "busybox";
  /** A real dockerd will run inside (test/engine/engine.ts starts it): the docker shim stays out. */
  engine?: boolean;
}

export interface RunOptions {
  env?: Record<string, string>;
  input?: string;
  /** Milliseconds; the default is generous but bounded so a hung script fails its test. */
  timeout?: number;
}

/** How an image behaves in the docker shim (files under registry/<key>/). */
export interface ImageSettings {
  user?: string;
  health?: "ok" | "down" | "crash";
  body?: string;
  log?: string;
  pull?: "fail";
  kind?: "http" | "postgres";
  uid?: string;
  gid?: string;
  exec?: "fail";
  /** The PostgreSQL version a postgres image says it runs (`17.2`); default: the installed one's. */
  version?: string;
  /** The image's Config.Env, one KEY=VALUE a line (e.g. GIT_COMMIT=…), taken when it is pulled. */
  env?: string;
}

/** Tools the sandbox itself needs; a test calls this before startHost. */
export function requireSandbox(t: TestContext, ...tools: string[]): boolean {
  if (!isRoot()) {
    if (process.env["CI"] !== undefined) throw new Error("the host sandbox needs root (CI runs as root)");
    t.skip("the host sandbox needs root (unshare --mount)");
    return false;
  }
  return requireTool(t, "unshare", "nsenter", "setpriv", "ip", "busybox", "dash", "flock", "sha256sum", "curl", ...tools);
}

export function imageKey(ref: string): string {
  return ref.replace(/[/:@]/g, "_");
}

/** Single-quotes a word for sh (test side; the bundle has its own helper). */
export function q(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export class SandboxHost {
  /** The sandbox directory on the real file system (visible inside too). */
  readonly dir: string;
  /** PLC_SHIM_STATE: docker and systemctl shim state and calls.log. */
  readonly state: string;
  private readonly init: ChildProcess;
  private readonly pid: number;

  private constructor(dir: string, init: ChildProcess, pid: number) {
    this.dir = dir;
    this.state = join(dir, "state");
    this.init = init;
    this.pid = pid;
  }

  /** Starts a host; t.after tears it down (every process inside dies with its pid 1). */
  static async start(t: TestContext, options: HostOptions = {}): Promise<SandboxHost> {
    const dir = mkdtempSync(join(tmpdir(), "plc-host-"));
    mkdirSync(join(dir, "state"));
    mkdirSync(join(dir, "tmp"));
    const init = spawn(
      "unshare",
      ["--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "--net", "sh", INIT, dir],
      {
        env: { PATH: SANDBOX_PATH, PLC_SANDBOX_HIDE: (options.hide ?? []).join(" "), PLC_SANDBOX_ENGINE: options.engine === true ? "1" : "" },
        stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    init.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      let stdout = "";
      init.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes("ready\n")) resolve();
      });
      init.on("exit", (code) => {
        reject(new Error(`sandbox init exited ${String(code)}: ${stderr}`));
      });
    });
    // unshare --fork: pid 1 of the new namespace is unshare's only child.
    const unsharePid = init.pid ?? 0;
    const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8").trim();
    const pid = Number(children.split(/\s+/)[0]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid 1 under unshare ${unsharePid}`);
    const host = new SandboxHost(dir, init, pid);
    t.after(() => {
      host.stop();
    });
    if (options.shell === "busybox") {
      // #!/bin/sh runs /usr/bin/dash with argv[0] "/bin/sh": busybox picks its sh applet from that.
      host.must("mount --bind /usr/bin/busybox /usr/bin/dash");
    }
    return host;
  }

  /** Kills pid 1 of the namespaces: the kernel kills everything inside and drops the mounts. */
  stop(): void {
    try {
      process.kill(this.pid, "SIGKILL");
    } catch {
      // already gone
    }
    // Wait for the namespace to empty before removing the directory its processes may still use.
    for (let i = 0; i < 100 && existsSync(`/proc/${this.pid}`); i++) spawnSync("sleep", ["0.05"]);
    if (this.init.exitCode === null) this.init.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }

  private argv(script: string, env: Record<string, string>): string[] {
    const vars = {
      PATH: SANDBOX_PATH,
      HOME: "/root",
      LANG: "C.UTF-8",
      PLC_SHIM_STATE: this.state,
      TMPDIR: join(this.dir, "tmp"),
      ...env,
    };
    return [
      "--target",
      String(this.pid),
      "--mount",
      "--pid",
      "--net",
      "--",
      "env",
      "-i",
      ...Object.entries(vars).map(([key, value]) => `${key}=${value}`),
      "sh",
      "-c",
      `cd / && ${script}`,
    ];
  }

  /** Runs a shell script on the host as root and returns its status and output. */
  sh(script: string, options: RunOptions = {}): RunResult {
    const result = spawnSync("nsenter", this.argv(script, options.env ?? {}), {
      encoding: "utf8",
      input: options.input ?? "",
      timeout: options.timeout ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
  }

  /** Like sh, but throws with the output when the script fails. */
  must(script: string, options: RunOptions = {}): string {
    const result = this.sh(script, options);
    if (result.status !== 0) {
      throw new Error(`host script failed (${String(result.status ?? result.signal)}): ${script}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
    }
    return result.stdout;
  }

  /** Starts a script in the background; the promise settles when it ends. */
  spawn(script: string, options: RunOptions = {}): { child: ChildProcess; done: Promise<RunResult> } {
    const child = spawn("nsenter", this.argv(script, options.env ?? {}), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<RunResult>((resolve) => {
      child.on("close", (status, signal) => {
        resolve({ status, signal, stdout, stderr });
      });
    });
    return { child, done };
  }

  /** A host path as seen from outside (through pid 1's root, so tmpfs contents are visible). */
  path(path: string): string {
    return `/proc/${this.pid}/root${path}`;
  }

  exists(path: string): boolean {
    return existsSync(this.path(path));
  }

  read(path: string): string {
    return readFileSync(this.path(path), "utf8");
  }

  /** Every shim call so far, one per line (the program name then each argument quoted). */
  calls(): string[] {
    const log = join(this.state, "calls.log");
    return existsSync(log) ? readFileSync(log, "utf8").split("\n").filter((line) => line !== "") : [];
  }

  /** Tells the docker shim how an image behaves. */
  image(ref: string, settings: ImageSettings): void {
    const dir = join(this.state, "registry", imageKey(ref));
    mkdirSync(dir, { recursive: true });
    for (const [key, value] of Object.entries(settings)) {
      if (value !== undefined) writeFileSync(join(dir, key), String(value));
    }
  }

  /** The env a container received, byte for byte, by key. */
  containerEnv(name: string): Map<string, string> {
    const dir = join(this.state, "containers", name, "env");
    const env = new Map<string, string>();
    if (!existsSync(dir)) return env;
    for (const key of readdirSync(dir)) env.set(key, readFileSync(join(dir, key), "utf8"));
    return env;
  }

  container(name: string): { image: string; running: boolean } | undefined {
    const dir = join(this.state, "containers", name);
    if (!existsSync(dir)) return undefined;
    const running = this.sh(`[ "$(docker inspect --format '{{.State.Running}}' ${q(name)})" = true ]`).status === 0;
    return { image: readFileSync(join(dir, "image"), "utf8").trim(), running };
  }

  /** Copies a file from the real file system to a host path (through the shared sandbox dir). */
  put(path: string, content: string | Buffer, mode = 0o644): void {
    const staged = join(this.dir, "tmp", `put-${String(Date.now())}-${String(Math.random()).slice(2)}`);
    writeFileSync(staged, content);
    this.must(`mkdir -p "$(dirname ${q(path)})" && cp ${q(staged)} ${q(path)} && chmod ${mode.toString(8)} ${q(path)} && rm -f ${q(staged)}`);
  }

  /**
   * A listing of the host's state under the given roots: path, type, mode, owner, symlink target
   * and sha256 of each file, sorted; what idempotence compares. Deploy logs (`<home>/.deploys`) are a
   * record of what ran, not state: they are left out.
   */
  snapshot(roots: string[], exclude: string[] = []): string {
    const prune = [...exclude, "*/.deploys"].map((path) => `-path ${q(path)} -prune -o`).join(" ");
    return this.must(
      `for root in ${roots.map(q).join(" ")}; do [ -e "$root" ] || continue; ` +
        `find "$root" ${prune} -printf '%p %y %m %u:%g %l\\n'; done | sort | while read -r path type rest; do ` +
        `if [ "$type" = f ]; then sum=$(sha256sum <"$path" | cut -c1-16); else sum=-; fi; printf '%s %s %s %s\\n' "$path" "$type" "$rest" "$sum"; done`,
    );
  }
}

export interface Bundle {
  /** Real path of the tarball. */
  tarball: string;
  secrets: string;
  /** The 12-hex release id. */
  id: string;
  name: string;
}

const built: string[] = [];
process.on("exit", () => {
  for (const dir of built) rmSync(dir, { recursive: true, force: true });
});

/** `plc build` with the CLI into a fresh directory (removed when the test process exits). */
export function buildBundle(args: string[], options: { imageArchive?: string; plugins?: string[] } = {}): Bundle {
  const out = mkdtempSync(join(tmpdir(), "plc-bundle-"));
  built.push(out);
  const argv = [CLI, "build", "-o", out];
  if (options.imageArchive !== undefined) argv.push("--image-archive", options.imageArchive);
  if (options.plugins !== undefined && options.plugins.length > 0) argv.push("-p", options.plugins.join(","));
  const result = spawnSync(process.execPath, [...argv, ...args], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`plc build failed: ${result.stderr}${result.stdout}`);
  const tarball = readdirSync(out).find((file) => file.endsWith(".tar.gz"));
  if (tarball === undefined) throw new Error(`plc build wrote no tarball in ${out}`);
  const match = /^(.*)-([0-9a-f]{12})\.tar\.gz$/.exec(tarball);
  if (match === null) throw new Error(`unexpected tarball name ${tarball}`);
  return {
    tarball: join(out, tarball),
    secrets: join(out, tarball.replace(/\.tar\.gz$/, ".secrets.env")),
    id: match[2] ?? "",
    name: match[1] ?? "",
  };
}

/** Unpacks a bundle on the host under /root/bundles/<id>/ and returns the path of its folder. */
export function unpack(host: SandboxHost, bundle: Bundle): string {
  const dir = `/root/bundles/${bundle.id}`;
  host.must(`rm -rf ${q(dir)} && mkdir -p ${q(dir)} && tar -xzf ${q(bundle.tarball)} -C ${q(dir)}`);
  return `${dir}/${bundle.name}`;
}

/** Unpacks and runs install.sh with the bundle's secrets file. */
export function install(host: SandboxHost, bundle: Bundle, args: string[] = [], options: RunOptions = {}): RunResult {
  const dir = unpack(host, bundle);
  // plc build writes no secrets file when the bundle needs no secret.
  const secrets = existsSync(bundle.secrets) ? `--secrets ${q(bundle.secrets)}` : "";
  return host.sh(`sh ${q(`${dir}/install.sh`)} ${secrets} ${args.map(q).join(" ")}`, options);
}

export function mustInstall(host: SandboxHost, bundle: Bundle, args: string[] = []): string {
  const result = install(host, bundle, args);
  if (result.status !== 0) throw new Error(`install.sh failed (${String(result.status)})\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  return result.stdout;
}

/** A minimal `docker save` archive (manifest.json and a config with Env and User), as plc and the shim read it. */
export function writeImageArchive(file: string, ref: string, config: { user?: string; env?: string[] } = {}): void {
  const dir = mkdtempSync(join(tmpdir(), "plc-image-"));
  try {
    writeFileSync(join(dir, "manifest.json"), JSON.stringify([{ Config: "config.json", RepoTags: [ref], Layers: [] }]));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ config: { User: config.user ?? "", Env: config.env ?? [] } }));
    const result = spawnSync("tar", ["-cf", file, "-C", dir, "manifest.json", "config.json"]);
    if (result.status !== 0) throw new Error(`tar failed: ${String(result.stderr)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
