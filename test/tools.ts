// Tests that need a host tool fail loudly in CI when it is missing; a developer's laptop may skip them.
import { execFileSync, spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import type { TestContext } from "node:test";

export function hasTool(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

/** True when the tool is there; in CI (CI set) a missing tool fails the test, elsewhere it skips and says so. */
export function requireTool(t: TestContext, ...names: string[]): boolean {
  const missing = names.filter((name) => !hasTool(name));
  if (missing.length === 0) return true;
  if (process.env["CI"] !== undefined) assert.fail(`${missing.join(", ")} missing: .ci/run must install it`);
  t.skip(`${missing.join(", ")} not installed (developer laptop); CI fails here instead`);
  return false;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Runs a command, returning status and output, never throwing. */
export function runTool(command: string, args: readonly string[], options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function output(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { encoding: "utf8" });
}
