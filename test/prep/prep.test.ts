// The prep bundle as data: its scripts pass shellcheck and dash, its templates the template lint,
// two builds are byte-identical, its checksums verify; bad input is a located exit 2 with nothing written.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { lintTemplate } from "../../compiler/render/template-lint.js";
import { packPrep, renderPrep, type PrepInput } from "../../compiler/prep/index.js";
import { runnerScript } from "../../compiler/prep/remote.js";
import { ROLES } from "../../compiler/prep/roles.js";
import { textOf } from "../../compiler/diagnostics.js";
import { CLI, ROOT } from "../fixtures.js";
import { requireTool, runTool } from "../tools.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHn0OHh3HCVwBuQ5x8Lz1Cz2jkDW5OqaxK7b0Q0i7Hzn test@example";

function fullInput(): PrepInput {
  return {
    roles: [...ROLES],
    users: {
      users: [
        { name: "bob", groups: ["adm", "users"], isSudoer: true, sudo: [], isDockerUser: true, keys: [KEY] },
        { name: "deploy", groups: ["users"], isSudoer: false, sudo: ["/home/*/backup.sh", "/usr/bin/docker pull *", "/usr/bin/docker run * id -u"], isDockerUser: false, keys: [KEY] },
      ],
      remove: ["olduser"],
      deployUser: "deploy",
      deployKeys: [KEY],
    },
    init: { user: "alice", keys: [KEY] },
    signers: [KEY],
    sshPort: 2222,
    offline: undefined,
  };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "plc-prep-unit-"));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const plc = (args: readonly string[], cwd: string) => runTool(process.execPath, [CLI, ...args], { cwd });

describe("the prep bundle", () => {
  it("its templates print values only through the shell quoting helper, as whole words", () => {
    const dir = join(ROOT, "compiler", "render", "templates", "prep");
    const offences = readdirSync(dir).flatMap((file) => lintTemplate(readFileSync(join(dir, file), "utf8"), `prep/${file}`).map((d) => `${file}: ${textOf(d).message}`));
    assert.deepEqual(offences, []);
    assert.ok(readdirSync(dir).length >= 10);
  });

  it("every script passes shellcheck -s sh and dash -n; sudoers files pass visudo -cf", (t) => {
    if (!requireTool(t, "shellcheck", "dash", "visudo")) return;
    const dir = tempDir(t);
    const bundle = renderPrep(fullInput());
    for (const file of bundle.files) {
      mkdirSync(join(dir, file.path, ".."), { recursive: true });
      writeFileSync(join(dir, file.path), file.content);
    }
    writeFileSync(join(dir, "runner.sh"), runnerScript());
    const scripts = ["prep.sh", "lib.sh", ...readdirSync(join(dir, "roles")).map((name) => `roles/${name}`), "files/plc/plc-install", "runner.sh"];
    assert.deepEqual(readdirSync(join(dir, "roles")).sort(), ["deploy.sh", "docker.sh", "firewall.sh", "init.sh", "lock.sh", "nginx.sh", "ssh.sh"]);
    const checked = runTool("shellcheck", ["-s", "sh", ...scripts], { cwd: dir });
    assert.equal(checked.status, 0, checked.stdout);
    for (const script of scripts) assert.equal(runTool("dash", ["-n", script], { cwd: dir }).status, 0, script);
    for (const sudoers of readdirSync(join(dir, "files", "sudoers"))) {
      const result = runTool("visudo", ["-cf", join(dir, "files", "sudoers", sudoers)]);
      assert.equal(result.status, 0, `${sudoers}: ${result.stdout}${result.stderr}`);
    }
    // playlabs' sudo rules keep their wildcards; sudoers' separators in them are escaped.
    assert.match(readFileSync(join(dir, "files/sudoers/plc-user-deploy"), "utf8"), /^deploy ALL=\(root\) NOPASSWD: \/home\/\*\/backup\.sh, \/usr\/bin\/docker pull \*, /m);
    assert.match(readFileSync(join(dir, "files/firewall/firewall.nft"), "utf8"), /tcp dport \{ 22, 80, 443, 2222 \} accept/);
    assert.doesNotMatch(readFileSync(join(dir, "files/firewall/firewall.nft"), "utf8"), /^\s*flush/m);
    assert.equal(readFileSync(join(dir, "files/plc/allowed_signers"), "utf8"), `plc namespaces="plc-bundle" ${KEY}\n`);
  });

  it("packs byte-identically, with a SHA256SUMS that sha256sum -c accepts", (t) => {
    const dir = tempDir(t);
    const first = packPrep(renderPrep(fullInput()), 0);
    const second = packPrep(renderPrep(fullInput()), 0);
    assert.ok(first.tgz.equals(second.tgz));
    writeFileSync(join(dir, "p.tar.gz"), first.tgz);
    assert.equal(runTool("tar", ["xzf", "p.tar.gz"], { cwd: dir }).status, 0);
    const sums = runTool("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: join(dir, "plc-prep") });
    assert.equal(sums.status, 0, sums.stderr);
    assert.match(sums.stdout, /prep\.sh: OK/);
  });
});

describe("plc build --prep, plc install and plc scaffold on bad input", () => {
  it("an unknown role is a located exit 2 with the nearest role, nothing written", (t) => {
    const dir = tempDir(t);
    const result = plc(["build", "--prep", "ssh,dokcer", "-o", "out"], dir);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /error\[unknown-role\]: unknown role dokcer/);
    assert.match(result.stderr, /did you mean docker\?/);
    assert.match(result.stderr, /argv\[2\]/);
    assert.equal(existsSync(join(dir, "out")), false);
    const install = plc(["install", "ssh,nginz", "@somehost"], dir);
    assert.equal(install.status, 2);
    assert.match(install.stderr, /unknown role nginz[\s\S]*argv\[1\]/);
  });

  it("a bad user name, a key file that is not a key, and deploy without a signer name where they come from", (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, "inv", "group_vars", "all"), { recursive: true });
    mkdirSync(join(dir, "inv", "keys"));
    writeFileSync(join(dir, "inv", "group_vars", "all", "users.yml"), "users:\n- name: Bob Smith\n");
    const badName = plc(["build", "--prep", "ssh", "-i", "inv", "-o", "out"], dir);
    assert.equal(badName.status, 2);
    assert.match(badName.stderr, /error\[invalid-login-name\]: users\[\]\.name: "Bob Smith" is not a login or group name/);
    assert.match(badName.stderr, /inv\/group_vars\/all\/users\.yml:2:1/);
    writeFileSync(join(dir, "inv", "group_vars", "all", "users.yml"), "users:\n- name: bob\n");
    writeFileSync(join(dir, "inv", "keys", "bob.pub"), `${KEY}\ncommand="/bin/sh" ${KEY}\n`);
    const badKey = plc(["build", "--prep", "ssh", "-i", "inv", "-o", "out"], dir);
    assert.equal(badKey.status, 2);
    assert.match(badKey.stderr, /inv\/keys\/bob\.pub: line 2 is not an ssh public key/);
    writeFileSync(join(dir, "inv", "keys", "bob.pub"), `${KEY}\n`);
    const noSigner = plc(["build", "--prep", "deploy", "-i", "inv", "-o", "out"], dir);
    assert.equal(noSigner.status, 2);
    assert.match(noSigner.stderr, /error\[no-signer\]: the deploy role needs the public key that signs bundles/);
    assert.equal(existsSync(join(dir, "out")), false);
    const built = plc(["build", "--prep", "ssh", "-i", "inv", "-o", "out"], dir);
    assert.equal(built.status, 0, built.stderr);
    assert.match(built.stdout, /^out\/plc-prep-[0-9a-f]{12}\.tar\.gz$/m);
  });

  it("--offline without --prep is bad input, and a plain plc build is unchanged", (t) => {
    const dir = tempDir(t);
    const result = plc(["build", "--offline", "image=x/y:1", "-o", "out"], dir);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--offline is for host preparation bundles/);
    const plain = plc(["build", "image=registry.example.com/app:1", "-o", "out"], dir);
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stdout, /out\/project-staging-[0-9a-f]{12}\.tar\.gz/);
  });

  it("plc scaffold DIR writes an inventory; plc init DIR still does, with a note", (t) => {
    const dir = tempDir(t);
    const scaffolded = plc(["scaffold", "a"], dir);
    assert.equal(scaffolded.status, 0, scaffolded.stderr);
    assert.ok(existsSync(join(dir, "a", "inventory.yaml")));
    assert.doesNotMatch(scaffolded.stderr, /note:/);
    const initialised = plc(["init", "b"], dir);
    assert.equal(initialised.status, 0, initialised.stderr);
    assert.match(initialised.stderr, /note: plc init DIR is plc scaffold DIR now/);
    assert.deepEqual(readdirSync(join(dir, "b")).sort(), readdirSync(join(dir, "a")).sort());
  });
});
