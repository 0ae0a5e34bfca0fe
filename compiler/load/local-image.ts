// The image config from a local engine (`docker image inspect`), for a build given no --image-archive.
// Its own module, small: build and check start the inspection before importing the compiler, so the
// docker CLI's own start-up runs beside theirs instead of after load.
import { execFile, execFileSync, type ChildProcess } from "node:child_process";

const INSPECT_TIMEOUT_MS = 10_000;
const inspectArgs = (image: string): string[] => ["image", "inspect", "--format", "{{json .Config}}", "--", image];

/** What a local docker said of one image: its Env, or undefined when no docker answered. */
export interface LocalImage {
  image: string;
  env: Map<string, string> | undefined;
}

/** `docker image inspect` on a local engine; undefined when no docker answers. */
export function inspectLocalImage(image: string): Map<string, string> | undefined {
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
