// Secrets never reach a process's argv: every command line on the machine is read from /proc, over and
// over, while `during` runs, and the ones holding a needle are kept.
import { readdirSync, readFileSync } from "node:fs";

export async function watchArgv<T>(needles: readonly string[], during: () => Promise<T>): Promise<{ value: T; leaks: string[] }> {
  const leaks: string[] = [];
  const watching = { isOn: true };
  const watch = (async () => {
    while (watching.isOn) {
      for (const pid of readdirSync("/proc")) {
        if (!/^[0-9]+$/.test(pid)) continue;
        try {
          const line = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
          if (needles.some((needle) => line.includes(needle))) leaks.push(line);
        } catch {
          // gone meanwhile
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  try {
    return { value: await during(), leaks };
  } finally {
    watching.isOn = false;
    await watch;
  }
}
