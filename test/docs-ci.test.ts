// docs/ci: the CI examples parse as YAML, run on tags, keep secrets out of what they upload, and every
// `plc <command> --option` they run exists in the program.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { CLI, ROOT } from "./fixtures.js";
import { runTool } from "./tools.js";

const EXAMPLES = ["github-actions.yml", "gitlab-ci.yml"];

/** Every string in a parsed YAML document: run: and script: lines are among them. */
function stringsOf(node: unknown): string[] {
  if (typeof node === "string") return [node];
  if (Array.isArray(node)) return node.flatMap(stringsOf);
  if (typeof node === "object" && node !== null) return Object.values(node).flatMap(stringsOf);
  return [];
}

interface Invocation {
  command: string;
  options: string[];
  text: string;
}

/** `plc COMMAND …` up to the end of its shell command; options without their `=value`. */
function plcInvocations(script: string): Invocation[] {
  const joined = script.replace(/\\\n/g, " ");
  return [...joined.matchAll(/(?:^|[\s;&|(])plc\s+([a-z][a-z-]*)([^\n;&|)]*)/g)].map((match) => {
    const rest = match[2] ?? "";
    const options = rest
      .split(/\s+/)
      .filter((word) => /^--?[A-Za-z]/.test(word))
      .map((word) => word.replace(/=.*$/, ""));
    return { command: match[1] ?? "", options, text: match[0].trim() };
  });
}

for (const name of EXAMPLES) {
  test(`docs/ci/${name}: plc commands and options exist; tags only; no secrets uploaded`, () => {
    const text = readFileSync(join(ROOT, "docs", "ci", name), "utf8");
    const document = parse(text) as Record<string, unknown>;
    const invocations = stringsOf(document).flatMap(plcInvocations);
    assert.ok(invocations.some((call) => call.command === "build"), "runs plc build");
    const helps = new Map<string, string>();
    for (const call of invocations) {
      let help = helps.get(call.command);
      if (help === undefined) {
        const result = runTool(process.execPath, [CLI, call.command, "--help"]);
        assert.equal(result.status, 0, `plc ${call.command} is not a command (${call.text})`);
        help = result.stdout;
        helps.set(call.command, help);
      }
      for (const option of call.options) {
        assert.match(help, new RegExp(`(^|[\\s,])${option.replace(/-/g, "\\-")}([\\s,]|$)`, "m"), `plc ${call.command} has no ${option} (${call.text})`);
      }
    }

    if (name === "github-actions.yml") {
      const on = document["on"] as { push?: { tags?: unknown } };
      assert.ok(on.push?.tags !== undefined, "runs on tags");
    } else {
      assert.match(text, /- if: \$CI_COMMIT_TAG/, "runs on tags");
    }
    // The secrets file is removed before any upload, and nothing else names it.
    const code = text
      .split("\n")
      .map((line) => line.replace(/(^|\s)#.*$/, ""))
      .join("\n");
    const removal = code.indexOf("rm -f dist/*.secrets.env");
    assert.ok(removal > 0, "removes dist/*.secrets.env");
    const uploads = ["gh release", "--upload-file", "artifacts:"].map((word) => code.indexOf(word)).filter((index) => index >= 0);
    assert.ok(uploads.length > 0 && uploads.every((index) => removal < index), "the secrets file is gone before anything is uploaded");
    assert.equal(code.split("secrets.env").length - 1, 1, "secrets.env is named only to remove it");
    assert.match(text, /sha256sum/, "the sha256 is attached beside the tarball");
  });
}

test("the invocation finder sees through continuations and option values", () => {
  const found = plcInvocations("set -e\nnpx plc build -i inv \\\n  --out-dir=dist prefix=a && plc verify dist/x.tar.gz\n");
  assert.deepEqual(
    found.map((call) => [call.command, call.options]),
    [
      ["build", ["-i", "--out-dir"]],
      ["verify", []],
    ],
  );
});
