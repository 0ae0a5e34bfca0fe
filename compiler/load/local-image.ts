// The image config from a local engine (`docker image inspect`), for a build given no --image-archive.
// Its own module, small: build and check start the inspection before importing the compiler, so the
// docker CLI's own start-up runs beside theirs instead of after load.
import { execFile, execFileSync, type ChildProcess } from "node:child_process";
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";

const INSPECT_TIMEOUT_MS = 10_000;
const inspectArgs = (image: string): string[] => ["image", "inspect", "--format", "{{json .Config}}", "--", image];

/** What a local docker said of one image: its Env, or undefined when no docker answered. */
export interface LocalImage {
  image: string;
  env: Map<string, string> | undefined;
}

/** Where Docker's CLI looks for the engine on Linux when nothing names another one. */
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

/**
 * Whether no engine can answer: no `docker` on PATH, or Docker's own CLI (an executable named docker, not
 * a link to another name nor a script) with nothing naming an engine (DOCKER_HOST, DOCKER_CONTEXT, a
 * current context in its config) and no default socket. That CLI would then only fail ("Cannot connect to
 * the Docker daemon"), so its start-up, longer than plc's own, is not paid. Anything else is asked:
 * podman's docker script, nerdctl linked as docker, a wrapper, a remote engine.
 */
export function noEngineAnswers(env: NodeJS.ProcessEnv = process.env, socket = DEFAULT_DOCKER_SOCKET): boolean {
  if ((env["DOCKER_HOST"] ?? "") !== "" || (env["DOCKER_CONTEXT"] ?? "") !== "") return false;
  const cli = onPath("docker", env["PATH"] ?? "");
  if (cli === undefined) return true;
  try {
    const real = realpathSync(cli);
    if (basename(real) !== "docker" || !isElf(real)) return false;
  } catch {
    return false;
  }
  return !hasCurrentContext(env) && !existsSync(socket);
}

/** The first executable file of that name in PATH's folders, as execFile would find it. */
function onPath(name: string, path: string): string | undefined {
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function isElf(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

/** Whether the CLI's config (DOCKER_CONFIG, else ~/.docker) names a context: one it cannot read counts as one. */
function hasCurrentContext(env: NodeJS.ProcessEnv): boolean {
  const file = join(env["DOCKER_CONFIG"] ?? join(env["HOME"] ?? homedir(), ".docker"), "config.json");
  if (!existsSync(file)) return false;
  try {
    const context = (JSON.parse(readFileSync(file, "utf8")) as { currentContext?: unknown }).currentContext;
    return context !== undefined && context !== "" && context !== "default";
  } catch {
    return true;
  }
}

/** `docker image inspect` on a local engine; undefined when no docker answers. */
export function inspectLocalImage(image: string): Map<string, string> | undefined {
  if (noEngineAnswers()) return undefined;
  try {
    const output = execFileSync("docker", inspectArgs(image), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: INSPECT_TIMEOUT_MS });
    return configEnv(output);
  } catch {
    return undefined;
  }
}

/**
 * The same inspection, started now and awaited later. cancel() stops it when the command ends without
 * needing it (a diagnostic), so a slow engine never holds plc's exit.
 */
export function startLocalImageInspect(image: string): { result: Promise<LocalImage>; cancel: () => void } {
  let child: ChildProcess | undefined;
  const result = new Promise<LocalImage>((resolve) => {
    if (noEngineAnswers()) {
      resolve({ image, env: undefined });
      return;
    }
    try {
      child = execFile("docker", inspectArgs(image), { encoding: "utf8", timeout: INSPECT_TIMEOUT_MS }, (error, stdout) => {
        resolve({ image, env: error === null ? configEnv(stdout) : undefined });
      });
      child.stdin?.end();
    } catch {
      resolve({ image, env: undefined });
    }
  });
  return { result, cancel: () => child?.kill() };
}

/**
 * The image a command line names (`image=…`, the last one), before load reads it; load uses what the
 * inspection gave only when the image it settles on is this one.
 */
export function argvImage(words: readonly { text: string }[]): string | undefined {
  const value = words.findLast((word) => word.text.startsWith("image="))?.text.slice("image=".length);
  return value !== undefined && /^[A-Za-z0-9][^\s]*$/.test(value) ? value : undefined;
}

function configEnv(output: string): Map<string, string> | undefined {
  try {
    return envOf({ config: JSON.parse(output) as unknown });
  } catch {
    return undefined;
  }
}

export function envOf(config: unknown): Map<string, string> {
  const env = new Map<string, string>();
  const list = (config as { config?: { Env?: unknown } } | undefined)?.config?.Env;
  if (!Array.isArray(list)) return env;
  for (const item of list) {
    if (typeof item !== "string") continue;
    const equals = item.indexOf("=");
    if (equals > 0) env.set(item.slice(0, equals), item.slice(equals + 1));
  }
  return env;
}
