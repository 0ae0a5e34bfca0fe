// The message catalogue: every code is used and renders, no call site writes its own words, and
// docs/diagnostics.md is generated from it (UPDATE_GOLDEN=1 rewrites it).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { exitCodeOf, diagnostic, textOf } from "../compiler/diagnostics.js";
import { MESSAGES, type DiagnosticCode, type Entry } from "../compiler/messages.js";
import { renderDiagnosticsReference } from "../compiler/reference.js";
import { CLI, ROOT } from "./fixtures.js";

const CODES = Object.keys(MESSAGES) as DiagnosticCode[];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** Every `diagnostic(` / `fail(` call of compiler/ (but the catalogue's own definitions), with its first arguments. */
function callSites(): { file: string; text: string }[] {
  return sources(join(ROOT, "compiler"))
    .filter((file) => !file.endsWith("diagnostics.ts") && !file.endsWith("messages.ts"))
    .flatMap((file) => {
      const text = readFileSync(file, "utf8");
      return [...text.matchAll(/\b(?:diagnostic|fail)\(\s*([^)]{0,200})/g)]
        // A shell function named fail inside a generated script is not a call of ours.
        .filter((match) => !/^\)\s*\{/.test(text.slice(match.index + match[0].length - (match[1]?.length ?? 0) - 1)))
        .map((match) => ({ file: relative(ROOT, file), text: match[1] ?? "" }));
    });
}

describe("the message catalogue", () => {
  it("every code is used by some call site in compiler/", () => {
    // A code is built by diagnostic()/fail() or handed to a checker's own reporter (the template lint's problem()).
    const text = sources(join(ROOT, "compiler")).filter((file) => !file.endsWith("messages.ts")).map((file) => readFileSync(file, "utf8")).join("\n");
    const used = new Set([...text.matchAll(/"([a-z0-9-]+)"/g)].map((match) => match[1]));
    const unused = CODES.filter((code) => !used.has(code));
    assert.deepEqual(unused, [], "codes no call site builds: drop them from compiler/messages.ts");
  });

  it("no call site passes words of its own: the second argument is the args object", () => {
    const sites = callSites().filter((site) => site.text.trim() !== "");
    assert.ok(sites.length > 100, `found the call sites (${String(sites.length)})`);
    // A code literal then an args object (or a variable holding one); a reporter forwarding a code it was given, typed by TypeScript.
    const free = sites.filter((site) => !/^(?:"[a-z0-9-]+"|code)\s*,\s*[{a-zA-Z(]/.test(site.text.trim()) || /^"[a-z0-9-]+"\s*,\s*["'`]/.test(site.text));
    assert.deepEqual(free.map((site) => `${site.file}: ${site.text.split("\n")[0] ?? ""}`), []);
  });

  it("every entry renders its example into a sentence and a hint, and says what it means", () => {
    for (const code of CODES) {
      const entry = MESSAGES[code] as unknown as Entry<unknown>;
      const message = entry.message(entry.example);
      // A JavaScript undefined never reaches the words (jinja-undefined says "is undefined" on purpose).
      assert.ok(message.length > 10 && (code === "jinja-undefined" || !message.includes("undefined")), `${code}: ${message}`);
      const hint = entry.hint?.(entry.example);
      assert.ok(hint === undefined || (hint.length > 5 && !hint.includes("undefined")), `${code}: ${String(hint)}`);
      assert.ok(entry.summary.length > 10, code);
    }
  });

  it("input codes exit 2, failure codes exit 1, and one input code among failures still makes it bad input", () => {
    assert.equal(exitCodeOf([diagnostic("unknown-variable", { variable: "imgae", suggestion: "image" })]), 2);
    assert.equal(exitCodeOf([diagnostic("install-failed", { host: "web1", status: "3" })]), 1);
    assert.equal(exitCodeOf([diagnostic("install-failed", { host: "web1", status: "3" }), diagnostic("no-host", { command: "ship", group: "x" })]), 2);
    assert.equal(textOf(diagnostic("ssh-user-twice", { other: "a@b" })).message, "the ssh user is given twice: -u and a@b");
  });

  it("docs/diagnostics.md is generated from the catalogue", () => {
    const file = join(ROOT, "docs", "diagnostics.md");
    const expected = renderDiagnosticsReference();
    if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(file, expected);
    assert.equal(readFileSync(file, "utf8"), expected, "docs/diagnostics.md is stale: UPDATE_GOLDEN=1 node --test build/test/messages.test.js");
    for (const code of CODES) assert.ok(expected.includes(`| \`${code}\` |`), code);
  });
});

describe("--error-format json", () => {
  it("prints each diagnostic as one JSON line with its code, args and origin, and exits as the text form does", () => {
    const cwd = mkdtempSync(join(tmpdir(), "plc-messages-"));
    const run = spawnSync(process.execPath, [CLI, "check", "--error-format", "json", "image=nginx:1", "imag=nginx:2", "instance=Bad_One"], { cwd, encoding: "utf8" });
    assert.equal(run.status, 2, run.stderr);
    const lines = run.stderr.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    const unknown = lines.find((line) => line["code"] === "unknown-variable");
    assert.deepEqual(unknown, {
      code: "unknown-variable",
      exit: 2,
      message: "unknown variable 'imag'",
      hint: "did you mean 'image'?",
      args: { variable: "imag", suggestion: "image" },
      origin: { kind: "argv", index: 4, text: "imag=…" },
      variable: "imag",
    });
    assert.ok(lines.some((line) => line["code"] === "invalid-instance-name"), run.stderr);
  });

  it("carries no secret: an lftp_dsn's password and an argument's value stay out of args and origin", () => {
    const cwd = mkdtempSync(join(tmpdir(), "plc-messages-"));
    const run = spawnSync(process.execPath, [CLI, "check", "--error-format=json", "image=nginx:1", "backup_password=hunter2", "lftp_dsn=sftp://u:hunter2@host/x;!sh"], { cwd, encoding: "utf8" });
    assert.equal(run.status, 2, run.stderr);
    const [line] = run.stderr.trim().split("\n").map((text) => JSON.parse(text) as Record<string, unknown>);
    assert.equal(line?.["code"], "invalid-format");
    assert.doesNotMatch(run.stderr, /hunter2/);
  });

  it("carries a usage error of the playlabs forms too (before commander parses)", () => {
    const run = spawnSync(process.execPath, [CLI, "ship", "--error-format=json", "-u", "a", "-u", "b", "image=nginx:1"], { encoding: "utf8" });
    assert.equal(run.status, 2, run.stderr);
    const [line] = run.stderr.trim().split("\n").map((text) => JSON.parse(text) as Record<string, unknown>);
    assert.equal(line?.["code"], "ssh-user-twice");
  });
});
