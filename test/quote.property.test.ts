// Property tests: nothing a user types escapes its quotes. Seeds fixed, counts bounded (npm test < 1 min).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compileBundle } from "../compiler/index.js";
import { hashHtpasswd } from "../compiler/render/htpasswd.js";
import { sh, shAssign, unitExec, unitValue, unquoteSh } from "../compiler/render/quote.js";
import { textProblem } from "../compiler/validate/formats.js";
import { requireTool } from "./tools.js";

const SEED = 20261125;
const CANARY = "/tmp/plc-canary-must-not-exist";

// Full unicode and binary units (fast-check's default is printable ASCII), plus the shell's own syntax.
const nasty = fc.constantFrom("'", '"', "\\", "$(touch " + CANARY + ")", "`touch " + CANARY + "`", "\n", "%", "$", "${HOME}", "*", "\r", "\t", " ", "!", ";", "|", "&", "#", "~", "\u2028", "é", "😀");
const value = fc
  .array(fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), nasty), { maxLength: 12 })
  .map((parts) => parts.join(""))
  .filter((text) => textProblem(text) === undefined);

describe("POSIX sh quoting", () => {
  it("dash prints every value exactly, and never runs a canary command", (t) => {
    if (!requireTool(t, "dash")) return;
    const dir = mkdtempSync(join(tmpdir(), "plc-quote-"));
    try {
      fc.assert(
        fc.property(fc.array(value, { minLength: 1, maxLength: 50 }), (values) => {
          // One dash per batch: each value printed through its quoted word, then hashed back in node.
          const script = values.map((v) => `printf '%s' ${sh(v)} | sha256sum`).join("\n");
          const result = spawnSync("dash", ["-c", script], { encoding: "utf8", cwd: dir });
          const got = result.stdout.trim().split("\n").map((line) => line.split(" ")[0]);
          const want = values.map((v) => createHash("sha256").update(v, "utf8").digest("hex"));
          assert.equal(result.status, 0, result.stderr);
          assert.deepEqual(got, want);
          assert.equal(existsSync(CANARY), false);
        }),
        { seed: SEED, numRuns: 100 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("unquoteSh inverts sh", () => {
    fc.assert(fc.property(value, (v) => unquoteSh(sh(v)) === v), { seed: SEED, numRuns: 2000 });
  });
});

describe("systemd values", () => {
  it("% is %% everywhere, $ is $$ in Exec lines, and newlines are refused", () => {
    fc.assert(
      fc.property(value, (v) => {
        if (/[\n\r]/.test(v)) {
          assert.throws(() => unitValue(v));
          assert.throws(() => unitExec(v));
          return;
        }
        assert.equal(unitValue(v).replace(/%%/g, ""), v.replace(/%/g, ""));
        assert.ok(!/(^|[^%])%([^%]|$)/.test(unitValue(v).replace(/%%/g, "")));
        assert.ok(!/(^|[^$])\$([^$]|$)/.test(unitExec(v).replace(/\$\$/g, "")));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe("htpasswd", () => {
  it("entries are salted SHA-1, never the password, and verify", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1 }), (password) => {
        const entry = hashHtpasswd("user", password);
        assert.ok(entry.startsWith("{SSHA}"));
        const raw = Buffer.from(entry.slice(6), "base64");
        const salt = raw.subarray(20);
        const digest = createHash("sha1").update(password, "utf8").update(salt).digest();
        assert.ok(digest.equals(raw.subarray(0, 20)));
        assert.ok(!entry.includes(password) || password.length < 3);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

const BUILT_HOME = "/srv/plc-envprop";

describe("the container environment", () => {
  it("docker-run.sh under dash hands the container every env value exactly, by name, off the command line", (t) => {
    if (!requireTool(t, "dash")) return;
    // The bundle is built for a valid home (one under /tmp is refused) and run with its home line
    // pointing at this scratch folder instead.
    const root = mkdtempSync(join(tmpdir(), "plc-envprop-"));
    const shim = join(root, "bin");
    mkdirSync(shim);
    // A docker that records, for `run`, the value of each --env KEY from its own environment, and its argv.
    writeFileSync(
      join(shim, "docker"),
      `#!/bin/sh
state=${sh(join(root, "state"))}
printf '%s\\n' "$*" >>"$state/argv"
[ "$1" = run ] || exit 0
shift
while [ $# -gt 0 ]; do
  case $1 in
    --env) eval "printf '%s' \\"\\\${$2}\\"" >"$state/env-$2"; shift ;;
  esac
  shift
done
`,
    );
    chmodSync(join(shim, "docker"), 0o755);
    try {
      fc.assert(
        fc.property(fc.array(value, { minLength: 1, maxLength: 6 }), value, (values, secret) => {
          rmSync(join(root, "state"), { recursive: true, force: true });
          rmSync(join(root, "home"), { recursive: true, force: true });
          mkdirSync(join(root, "state"));
          const home = join(root, "home");
          mkdirSync(home);
          const env: Record<string, string> = Object.fromEntries(values.map((v, i) => [`V${i}`, v]));
          env["TOKEN"] = secret;
          const compiled = compileBundle(
            {
              words: [
                { text: "image=app:1", index: 1 },
                { text: `home=${BUILT_HOME}`, index: 2 },
                { text: JSON.stringify({ env, secret_env: ["TOKEN"] }), index: 3 },
              ],
              plugins: [],
              inventoryDir: undefined,
              vaultPasswordFiles: [],
              pluginsDirs: [],
              imageArchive: undefined,
              cwd: root,
            },
            { plcVersion: "test", mtime: 0 },
          );
          const release = join(root, "release");
          rmSync(release, { recursive: true, force: true });
          mkdirSync(release);
          for (const file of compiled.packed.files) {
            if (file.path.includes("/")) continue;
            const content = file.path === "docker-run.sh" ? file.content.toString().replace(`\nhome=${BUILT_HOME}\n`, `\nhome=${sh(home)}\n`) : file.content;
            writeFileSync(join(release, file.path), content, { mode: file.mode });
          }
          writeFileSync(join(home, "docker-image"), "app:1\n");
          writeFileSync(join(home, ".secrets.env"), compiled.bundle.secrets.map((s) => shAssign(s.key, s.value) + "\n").join(""), { mode: 0o600 });
          const result = spawnSync("dash", [join(release, "docker-run.sh")], { encoding: "utf8", env: { PATH: `${shim}:/usr/bin:/bin` } });
          assert.equal(result.status, 0, result.stderr);
          for (const [key, expected] of Object.entries(env)) {
            assert.equal(readFileSync(join(root, "state", `env-${key}`), "utf8"), expected, key);
          }
          const argv = readFileSync(join(root, "state", "argv"), "utf8");
          assert.ok(secret.length < 4 || !argv.includes(secret), "the secret is not on docker's command line");
          assert.ok(!readFileSync(join(release, "env"), "utf8").includes("TOKEN="), "the secret is not in the bundle's env");
          assert.equal(existsSync(CANARY), false);
        }),
        { seed: SEED, numRuns: 150 },
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("helpers refuse what is not text", () => {
  it("a mistyped field (undefined), an object, NaN: an error, never the word 'undefined' in a config", () => {
    for (const value of [undefined, null, {}, [], Number.NaN, true] as unknown as string[]) {
      assert.throws(() => sh(value), /takes a string or a number/);
      assert.throws(() => unitValue(value), /takes a string or a number/);
      assert.throws(() => unitExec(value), /takes a string or a number/);
    }
    assert.equal(sh(8000), "8000");
  });
});
