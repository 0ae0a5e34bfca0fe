// plc explain and plc check: every value with where it came from, what it overrode, secrets masked;
// colour only on a terminal and never with NO_COLOR.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, FIXTURES } from "./fixtures.js";
import { requireTool } from "./tools.js";

const INVENTORY = join(FIXTURES, "inventory-production", "inventory");
const plc = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: FIXTURES, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });

describe("plc explain", () => {
  const result = plc("explain", "-i", INVENTORY, "prefix=yourproject", "instance=production", "-p", "postgres", "backup_password=hunter2", "env.REGION=us-east");
  const line = (name: string): string => result.stdout.split("\n").find((l) => l.startsWith(`${name} = `)) ?? "";

  it("says where each value came from, file:line:col, argv, default or plugin", () => {
    assert.equal(result.status, 0, result.stderr);
    assert.match(line("image"), /= "yourimage:production" {2}<- inventory-production\/inventory\/group_vars\/all\/project\.yml:2:31$/);
    assert.match(line("prefix"), /<- argv\[3\] 'prefix=…'$/);
    assert.match(line("port"), /= 8000 {2}<- default$/);
    assert.match(line("env.DB_HOST"), /= "yourproject-production-postgres" {2}<- plugin postgres$/);
    assert.match(line("postgres_image"), /<- plugin postgres$/);
  });

  it("says what a value overrode, lowest first: inventory layers (a dict replaced whole, as Ansible does), then argv", () => {
    assert.match(
      line("env.REGION"),
      /= "us-east" {2}<- argv\[\d+\] 'env\.REGION=…' \(overrode .*group_vars\/all\/project\.yml:4:15, .*group_vars\/yourproject-production\.yml:2:12, .*host_vars\/prod1\.example\.com\/vars\.yml:2:11\)$/,
    );
    // host_vars' env replaced the groups' env whole (hash_behaviour=replace): their keys are gone.
    assert.equal(line("env.WORKERS"), "");
  });

  it("masks secrets", () => {
    assert.match(line("backup_password"), /= "\*{8}"/);
    assert.ok(!result.stdout.includes("hunter2"));
  });

  it("narrows to the names given", () => {
    const narrowed = plc("explain", "-i", INVENTORY, "prefix=yourproject", "instance=production", "env");
    assert.equal(narrowed.status, 0, narrowed.stderr);
    const names = narrowed.stdout.trim().split("\n").map((l) => l.split(" = ")[0]);
    assert.deepEqual(names, ["env.REGION"]);
  });
});

describe("plc check", () => {
  it("prints the resolved spec, defaults included, and writes nothing", () => {
    const result = plc("check", "image=nginx:1.27", "dns=example.com");
    assert.equal(result.status, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as { name: string; values: Record<string, unknown> };
    assert.equal(summary.name, "project-staging");
    assert.equal(summary.values["retention.yearly"], 75);
    assert.deepEqual(summary.values["dns"], ["example.com"]);
  });
});

describe("colour", () => {
  // script(1) gives the CLI a terminal, as a person would.
  const onTerminal = (env: Record<string, string | undefined>) =>
    spawnSync("script", ["-qec", `${process.execPath} ${CLI} build imag=x`, "/dev/null"], { encoding: "utf8", env: { ...process.env, NO_COLOR: undefined, ...env } });

  it("errors are coloured on a terminal, plain with NO_COLOR or in a pipe", (t) => {
    if (!requireTool(t, "script")) return;
    const coloured = onTerminal({});
    assert.equal(coloured.status, 2);
    assert.match(coloured.stdout, /\u001b\[1;31merror\u001b\[0m\[unknown-variable\]/);
    const plain = onTerminal({ NO_COLOR: "1" });
    assert.ok(!plain.stdout.includes("\u001b["), "NO_COLOR");
    const piped = spawnSync(process.execPath, [CLI, "build", "imag=x"], { encoding: "utf8", env: { ...process.env, NO_COLOR: undefined } });
    assert.ok(!piped.stderr.includes("\u001b["), "pipe");
    assert.match(piped.stderr, /^error\[unknown-variable\]/);
  });
});

describe("error output", () => {
  it("leads with what to do, and does not print a plain-text secret from the inventory line it shows", () => {
    const dir = mkdtempSync(join(tmpdir(), "plc-report-"));
    try {
      mkdirSync(join(dir, "group_vars", "all"), { recursive: true });
      writeFileSync(join(dir, "group_vars", "all", "project.yml"), "app_prod_image: app:1\napp_prod_backup_pasword: hunter2\n");
      const result = spawnSync(process.execPath, [CLI, "check", "-i", dir, "prefix=app", "instance=prod"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
      assert.equal(result.status, 2);
      const lines = result.stderr.split("\n");
      assert.match(lines[0] ?? "", /^error\[unknown-variable\]: unknown variable 'backup_pasword'$/);
      assert.match(lines[1] ?? "", /^ {2}fix: did you mean 'backup_password'\?$/);
      assert.match(lines[2] ?? "", /project\.yml:2:\d+$/);
      assert.match(lines[3] ?? "", /app_prod_backup_pasword: …$/);
      assert.ok(!result.stderr.includes("hunter2"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
