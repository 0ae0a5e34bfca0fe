#!/usr/bin/env node
// Mutation check: applies each mutation of the code review's table (m01-m26) to a scratch worktree,
// regenerates the golden files with UPDATE_GOLDEN=force (as a developer would who accepts a change
// without stating its intent), runs the behavioural tests that should notice, and prints a table
// caught / missed.
//
//   node scripts/mutations.mjs            every mutation, each against the test files listed for it
//   node scripts/mutations.mjs m07 m12    only these
//   MUTATION_TESTS=all node scripts/…     the whole suite for each mutation (slow: minutes each)
//
// Not part of npm test: it rebuilds once per mutation. What is checked is the last commit. Needs root
// for the host tests (CI=1 is set, so a missing tool fails instead of skipping). A mutation whose
// text is not found is "not applied" (the code moved: update it), never "caught".
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");

/** id, what it breaks, the file, the literal text and its replacement, the test files (build/test/…) that should notice. */
const MUTATIONS = [
  ["m01", "sh() stops escaping '", "compiler/render/quote.ts", "return `'${text.replace(/'/g, `'\\\\''`)}'`;", "return `'${text}'`;", "quote.property hostile-values.property host/quoting"],
  ["m02", "unitExec stops doubling $", "compiler/render/quote.ts", '.replace(/\\$/g, "$$$$")', "", "quote.property"],
  ["m03", "py() emits single-quoted text", "compiler/render/quote.ts", 'return JSON.stringify(textOf(value, "py"));', 'return `\'${textOf(value, "py")}\'`;', "golden quote.property"],
  ["m05", "install.sh drops sha256sum --check", "compiler/render/templates/install/3-bundle.sh.ejs", '  sha256sum --check --strict --quiet "$sums" >&2 || die', "  true || die", "golden host/install host/upgrade"],
  ["m06", "plugin order picks the last eligible plugin", "compiler/resolve/index.ts", "const index = remaining.findIndex(", "const index = remaining.findLastIndex(", "golden plugins"],
  ["m07", "post hooks no longer reversed", "compiler/render/index.ts", 'return hook.endsWith(".post") ? found.reverse() : found;', "return found;", "intent golden"],
  ["m08", "no backup before the deploy", "compiler/render/templates/install/5-backup.sh.ejs", '  if ! "$backup"; then', "  if false; then", "host/upgrade host/backup host/takeover"],
  ["m09", "restore.sh skips restore.post", "compiler/render/templates/restore.sh.ejs", 'for (const hook of hooks("restore.post"))', "for (const hook of [])", "intent host/postgres"],
  ["m10", "a failed deploy keeps the new secrets", "compiler/render/templates/install/transaction.sh.ejs", "for file in docker-image .secrets.env .backup_password .env .slot; do\n    if [ -f \"$journal/before/$file\" ]", "for file in docker-image .backup_password .env .slot; do\n    if [ -f \"$journal/before/$file\" ]", "host/upgrade"],
  ["m11", "install.sh accepts files SHA256SUMS does not list", "compiler/render/templates/install/3-bundle.sh.ejs", '[ "$listed" = "$present" ] || die', "true || die", "host/install host/tampered"],
  ["m12", "the health check accepts 5xx", "compiler/render/templates/install/10-health.sh.ejs", "case $code in [234]??)", "case $code in [2345]??)", "host/intent host/upgrade"],
  ["m13", "docker run --restart no", "compiler/render/templates/docker-run.sh.ejs", "--restart unless-stopped", "--restart no", "host/intent host/upgrade"],
  ["m14", "host_vars ranked below the group", "compiler/load/hostvars.ts", "  if (host !== undefined) {\n    layers.push(...(inventory.hostInline.get(host) ?? []));\n    for (const source of inventory.hostVars) layers.push(...(source.get(host) ?? []));\n  }\n  return layers;", "  if (host !== undefined) {\n    layers.unshift(...(inventory.hostInline.get(host) ?? []));\n    for (const source of inventory.hostVars) layers.unshift(...(source.get(host) ?? []));\n  }\n  return layers;", "intent golden inventory-oracle"],
  ["m15", "the pg dump completeness check dropped", "plugins/postgres/backup.pre.sh.ejs", '|| die "the postgres dump is incomplete"', "|| true", "golden host/postgres"],
  ["m16", "a failed nginx -t keeps the new vhost", "compiler/render/templates/install/transaction.sh.ejs", '  if [ -f "$journal/before/vhost" ]; then cp -p "$journal/before/vhost" "$1"; else rm -f "$1"; fi', "  true", "host/intent host/upgrade"],
  ["m17", "releases_kept off by one", "compiler/render/templates/install/transaction.sh.ejs", "tail -n <%- sh(spec.releasesKept) %>", "tail -n <%- sh(spec.releasesKept + 1) %>", "host/upgrade"],
  ["m18", "the backup/prune/restore lock is a no-op", "compiler/render/templates/_lock.sh.ejs", '  if ! flock -w "${PLC_LOCK_WAIT:-7200}" 8; then', "  if false; then", "host/backup"],
  ["m19", "check and explain stop masking secrets", "compiler/explain.ts", "isSecretPointer(spec, pointer) && !isEmpty ? MASK : value", "isSecretPointer(spec, pointer) && !isEmpty && false ? MASK : value", "plugins secrets explain"],
  ["m20", "plc verify skips the bundle-id check", "compiler/verify.ts", "if (problems.length === 0 && bundleId([], manifest, id) !== manifest.id)", "if (problems.length < 0 && bundleId([], manifest, id) !== manifest.id)", "intent verify"],
  ["m21", "the receiver skips the sha256 plc computed", "compiler/ship/receiver.ts", "printf '%s  %s\\\\n' \"$expected\" \"$dir/${STREAM.bundle}\" | sha256sum -c --strict --quiet >/dev/null 2>&1 ||", "true ||", "intent"],
  ["m22", "ssh StrictHostKeyChecking=accept-new", "compiler/ship/ssh.ts", "StrictHostKeyChecking=yes", "StrictHostKeyChecking=accept-new", "ship/ship ship/jump"],
  ["m23", "restic exit 3 (partial snapshot) accepted", "compiler/render/templates/backup.sh.ejs", 'if [ "$status" -eq 3 ]; then', "if false; then", "host/backup"],
  ["m24", "SECRET_KEY in the public env file", "compiler/render/index.ts", "publicEnv: spec.env.filter((entry) => !entry.isSecret)", "publicEnv: spec.env.filter(() => true)", "golden secrets vault"],
  ["m25", "restore.pre hooks run in reverse", "compiler/render/templates/restore.sh.ejs", 'for (const hook of hooks("restore.pre"))', 'for (const hook of hooks("restore.pre").slice().reverse())', "intent golden"],
  ["m26", "a raw value concatenated after a helper call", "compiler/render/templates/vhost.conf.ejs", "<%- nginx(spec.name) %>.access.log", "<%- nginx(spec.name) + spec.image %>.access.log", "templates golden"],
];

const wanted = process.argv.slice(2).filter((arg) => arg !== "--check");
// --check: only that every mutation's text is still in the code.
if (process.argv.includes("--check")) {
  const missing = MUTATIONS.filter(([, , file, from]) => !readFileSync(join(repo, file), "utf8").includes(from)).map(([id]) => id);
  process.stdout.write(missing.length === 0 ? `all ${MUTATIONS.length} mutations apply\n` : `not found: ${missing.join(" ")}\n`);
  process.exit(missing.length === 0 ? 0 : 1);
}
const scratch = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), "plc-mutations-"));
const tree = join(scratch, "tree");
const git = (...args) => execFileSync("git", args, { cwd: tree, stdio: ["ignore", "pipe", "pipe"] }).toString();
execFileSync("git", ["-C", repo, "worktree", "add", "--detach", "--quiet", tree, "HEAD"]);
symlinkSync(join(repo, "node_modules"), join(tree, "node_modules"));
const cleanup = () => {
  spawnSync("git", ["-C", repo, "worktree", "remove", "--force", tree]);
  rmSync(scratch, { recursive: true, force: true });
};
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

const rows = [];
mkdirSync(join(repo, ".mutations"), { recursive: true });
try {
  for (const [id, what, file, from, to, tests] of MUTATIONS) {
    if (wanted.length > 0 && !wanted.includes(id)) continue;
    git("checkout", "--quiet", "--", ".");
    git("clean", "-fdq", "--", "golden", "fixtures");
    const path = join(tree, file);
    const text = readFileSync(path, "utf8");
    if (!text.includes(from)) {
      rows.push([id, what, "not applied (text not found)"]);
      continue;
    }
    writeFileSync(path, text.replace(from, () => to));
    const run = (command, args, env = {}) => spawnSync(command, args, { cwd: tree, encoding: "utf8", env: { ...process.env, ...env } });
    const built = run("npm", ["run", "build"]);
    if (built.status !== 0) {
      rows.push([id, what, "not applicable: the mutant does not compile"]);
      continue;
    }
    run(process.execPath, ["--test", "build/test/golden.test.js"], { UPDATE_GOLDEN: "force" });
    const files =
      process.env.MUTATION_TESTS === "all"
        ? readdirSync(join(tree, "build", "test"), { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".test.js")).map((name) => `build/test/${name}`)
        : tests.split(" ").map((name) => `build/test/${name}.test.js`);
    const result = run(process.execPath, ["--test", "--test-concurrency=2", ...files], { CI: "1" });
    writeFileSync(join(repo, ".mutations", `${id}.log`), result.stdout + result.stderr, { flag: "w" });
    if (result.status === 0) {
      rows.push([id, what, `**missed** (${tests})`]);
    } else {
      const failed = [...result.stdout.matchAll(/^ {4,}not ok \d+ - (.*)$/gm)].map((match) => match[1]).slice(0, 2);
      rows.push([id, what, `caught: ${failed.join("; ") || "see .mutations/" + id + ".log"}`]);
    }
    process.stderr.write(`${id}: ${rows.at(-1)[2]}\n`);
  }
} finally {
  cleanup();
}
rows.push(["m04", "logrotatePath accepts whitespace", "equivalent: absolute-path refuses spaces before render"]);
process.stdout.write("| # | mutation | after UPDATE_GOLDEN=force |\n| --- | --- | --- |\n");
for (const row of rows.sort(([a], [b]) => (a < b ? -1 : 1))) process.stdout.write(`| ${row.join(" | ")} |\n`);
