// Every generated script is POSIX: shellcheck -s sh finds nothing, dash and busybox sh parse it.
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { compileFixture, fixtureNames, readFixture } from "./fixtures.js";
import { requireTool, runTool } from "./tools.js";

function writeScripts(name: string): { dir: string; scripts: string[] } {
  const dir = mkdtempSync(join(tmpdir(), `plc-scripts-${name}-`));
  const scripts: string[] = [];
  for (const file of compileFixture(readFixture(name)).packed.files) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content, { mode: file.mode });
    if (file.path.endsWith(".sh")) scripts.push(path);
  }
  return { dir, scripts };
}

describe("generated scripts", () => {
  for (const name of fixtureNames()) {
    it(`${name}: shellcheck -s sh, dash -n, busybox sh -n`, (t) => {
      if (!requireTool(t, "shellcheck", "dash", "busybox")) return;
      const { dir, scripts } = writeScripts(name);
      try {
        assert.ok(scripts.length >= 3, "install.sh, docker-run.sh, uninstall.sh at least");
        // Hooks are fragments sourced by the scripts: checked as sh too.
        const check = runTool("shellcheck", ["-s", "sh", "-S", "style", ...scripts]);
        assert.equal(check.status, 0, `shellcheck findings:\n${check.stdout}${check.stderr}`);
        for (const script of scripts) {
          const dash = runTool("dash", ["-n", script]);
          assert.equal(dash.status, 0, `dash -n ${script}: ${dash.stderr}`);
          const busybox = runTool("busybox", ["sh", "-n", script]);
          assert.equal(busybox.status, 0, `busybox sh -n ${script}: ${busybox.stderr}`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
