// Inventories through the command line, as a playlabs user has them: -i a file, an INI file, several
// -i, none (found in the working directory), vault passwords by playlabs' conventions, the hosts of a
// deploy and their connection variables, and playlabs' own inventory template layout.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { after, describe, it } from "node:test";
import { encryptVault } from "../compiler/load/vault.js";
import { CLI } from "./fixtures.js";

const PASSWORD = "template vault password";
const vaulted = (text: string): string => encryptVault(text, { id: undefined, password: PASSWORD }, Buffer.alloc(32, 5));
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "plc-invcli-"));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

function plc(cwd: string, args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("ANSIBLE_VAULT")));
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", env: { ...clean, NO_COLOR: "1", ...env } });
}

const value = (stdout: string, name: string): string => stdout.split("\n").find((line) => line.startsWith(`${name} = `)) ?? "";

describe("inventory sources on the command line", () => {
  const dir = tree({
    "a/inventory.yml": "all:\n  children:\n    yourproject-production:\n      hosts:\n        web1:\n",
    "a/group_vars/all.yml": "yourproject_production_image: reg/app:from-a\nyourproject_production_dns: a.example.com\n",
    "b/hosts": "[yourproject-production]\nweb1 ansible_host=10.0.0.5\n[yourproject-production:vars]\nyourproject_production_image=reg/app:from-b-ini\n",
    "b/group_vars/yourproject-production.yml": "yourproject_production_healthcheck_path: /from-b\n",
  });
  const args = ["prefix=yourproject", "instance=production"];

  it("-i FILE: an inventory file, group_vars beside it (I12)", () => {
    const run = plc(dir, ["explain", "-i", "a/inventory.yml", ...args, "image"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(value(run.stdout, "image"), /"reg\/app:from-a" {2}<- a\/group_vars\/all\.yml:1:31/);
  });

  it("an INI inventory named hosts, [g:vars] (I11)", () => {
    const run = plc(dir, ["explain", "-i", "b", ...args, "image"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(value(run.stdout, "image"), /"reg\/app:from-b-ini" {2}<- b\/hosts:4:1/);
  });

  for (const form of [["-i", "a", "-i", "b"], ["-i", "a,b"]]) {
    it(`several inventories merged in order: ${form.join(" ")} (I13)`, () => {
      const run = plc(dir, ["explain", ...form, ...args, "image", "dns", "healthcheck_path"]);
      assert.equal(run.status, 0, run.stderr);
      // Ansible's order: inline group vars (b's [g:vars]) < group_vars/all of any source (a's).
      assert.match(value(run.stdout, "image"), /"reg\/app:from-a" {2}<- a\/group_vars\/all\.yml:1:31 \(overrode b\/hosts:4:1\)/);
      assert.match(value(run.stdout, "dns"), /\["a\.example\.com"\]/);
      assert.match(value(run.stdout, "healthcheck_path"), /"\/from-b" {2}<- b\/group_vars/);
    });
  }

  it("-i web1,web2, is a list of hosts: the deploy group has none, so nothing to ship", () => {
    const run = plc(dir, ["ship", "-i", "web1,web2,", ...args, "image=x/y:1", "--dry-run"]);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /no host to ship to/);
  });

  it("a missing inventory names what -i takes", () => {
    const run = plc(dir, ["check", "-i", "nowhere", ...args]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /error\[missing-inventory\]: inventory 'nowhere' does not exist/);
  });

  it("without -i, the inventory playlabs finds in the working directory (I14)", () => {
    const here = tree({
      "inventory/inventory.yml": "all:\n  hosts:\n    web1:\n",
      "inventory/group_vars/all.yml": "project_staging_image: reg/app:found\nbackup_password: found-pw\n",
    });
    const run = plc(here, ["explain", "image", "backup_password"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(value(run.stdout, "image"), /"reg\/app:found" {2}<- inventory\/group_vars\/all\.yml/);
    assert.match(value(run.stdout, "backup_password"), /"\*{8}"/);
  });
});

describe("vault passwords, playlabs' conventions (I21)", () => {
  const files = {
    "inv/inventory.yml": "all:\n  hosts:\n    web1:\n",
    "inv/group_vars/all.yml": `project_staging_image: reg/app:1\nproject_staging_backup_password: !vault |\n  ${vaulted("vaulted-pw").trimEnd().replace(/\n/g, "\n  ")}\n`,
  };

  it("a .vault file in the inventory is used", () => {
    const dir = tree({ ...files, "inv/.vault": PASSWORD + "\n" });
    const run = plc(dir, ["check", "-i", "inv"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /"backup_password": "\*{8}"/);
  });

  it("$ANSIBLE_VAULT_PASSWORD is used", () => {
    const dir = tree(files);
    const run = plc(dir, ["check", "-i", "inv"], { ANSIBLE_VAULT_PASSWORD: PASSWORD });
    assert.equal(run.status, 0, run.stderr);
    const without = plc(dir, ["check", "-i", "inv"]);
    assert.equal(without.status, 2);
    assert.match(without.stderr, /error\[vault-decrypt\]/);
  });

  it("--vault-id label@file and $ANSIBLE_VAULT_PASSWORD_FILE still work", () => {
    const dir = tree({ ...files, "pw": PASSWORD + "\n" });
    assert.equal(plc(dir, ["check", "-i", "inv", "--vault-id", "prod@pw"]).status, 0);
    assert.equal(plc(dir, ["check", "-i", "inv"], { ANSIBLE_VAULT_PASSWORD_FILE: join(dir, "pw") }).status, 0);
  });
});

describe("the hosts of a deploy and how ssh reaches them", () => {
  const dir = tree({
    "inv/inventory.yml": [
      "all:",
      "  vars:",
      "    ansible_user: groupuser",
      "  hosts:",
      "    yourproject-production.example.com:",
      "  children:",
      "    yourproject-production:",
      "      hosts:",
      "        web1: {ansible_host: 10.0.0.1, ansible_user: deploy, ansible_port: 2201}",
      "        web2: {ansible_ssh_host: 10.0.0.2, ansible_ssh_port: 2202}",
      "        web3:",
      "    yourproject-production-eu:",
      "      hosts:",
      "        eu1:",
      "    other:",
      "      hosts:",
      "        x1:",
      "",
    ].join("\n"),
    "inv/host_vars/web3.yml": "ansible_host: 10.0.0.3\n",
  });
  const ship = (...extra: string[]) => plc(dir, ["ship", "-i", "inv", "prefix=yourproject", "instance=production", "image=x/y:1", "--dry-run", ...extra]);
  const sshLine = (stdout: string, host: string): string => {
    const lines = stdout.split("\n");
    return lines[lines.indexOf(`${host}:`) + 1] ?? "";
  };

  it("the group and playlabs' pattern *<prefix>-<instance>* (I20), connection vars from any layer, legacy ansible_ssh_* (I17, I18)", () => {
    const run = ship();
    assert.equal(run.status, 0, run.stderr);
    const hosts = run.stdout.split("\n").filter((line) => /^\S+:$/.test(line)).map((line) => line.slice(0, -1));
    assert.deepEqual(hosts.filter((host) => host !== "PLC_RECEIVER, the script the host runs with the stream on stdin"), ["yourproject-production.example.com", "web1", "web2", "web3", "eu1"]);
    assert.match(sshLine(run.stdout, "web1"), / -p 2201 -l deploy -- 10\.0\.0\.1 /);
    assert.match(sshLine(run.stdout, "web2"), / -p 2202 -l groupuser -- 10\.0\.0\.2 /);
    assert.match(sshLine(run.stdout, "web3"), / -l groupuser -- 10\.0\.0\.3 /);
    assert.doesNotMatch(sshLine(run.stdout, "web3"), / -p /);
  });

  it("@web1 naming an inventory host ships to its ansible_host, user and port (I19)", () => {
    const run = ship("@web1");
    assert.equal(run.status, 0, run.stderr);
    assert.match(sshLine(run.stdout, "web1"), / -p 2201 -l deploy -- 10\.0\.0\.1 /);
    assert.doesNotMatch(run.stdout, /^web2:$/m);
  });
});

describe("playlabs' inventory template layout", () => {
  it("builds with a vault password the test makes: SECRET_KEY decrypted, in the secrets file, not in the tarball", () => {
    const key = "plain-project_staging_secret_key";
    const dir = tree({
      "inventory_template/inventory.yaml": "all:\n  hosts:\n    ci:\n      fqdn: ci.yourlabs.io\n\ndocker-firewall-nginx:\n  hosts:\n    ci:\n",
      "inventory_template/.vault": PASSWORD,
      "inventory_template/group_vars/all/project.yml":
        "---\nproject_staging_env:\n  # comment kept from the template\n  SECRET_KEY: '{{ \"secrets/project_staging_secret_key\"|vaulted_read }}'\n",
      "inventory_template/group_vars/all/letsencrypt.yml": "---\nletsencrypt_uri: https://acme-staging.api.letsencrypt.org/directory\n",
      "inventory_template/group_vars/all/backup_password.yml": `backup_password: !vault |\n  ${vaulted("restic-template-pw").trimEnd().replace(/\n/g, "\n  ")}\n`,
      "inventory_template/group_vars/all/users.yml": [
        "users:",
        "- name: hacker",
        "  email: hacker1337@example.com",
        "  roles:",
        "    ssh: [sudo]",
        "    project: [superuser]",
        "    superuser: [ci, project-staging]",
        "- name: deploy",
        "  sudo: [/home/*/backup.sh]",
        "users_remove:",
        "- name: olduser",
        "deploy_user: deploy",
        "",
      ].join("\n"),
      "inventory_template/secrets/project_staging_secret_key": vaulted(key),
      "inventory_template/passwords/hacker": vaulted("hacker-password"),
      "inventory_template/keys/deploy": vaulted("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n"),
      "inventory_template/keys/deploy.pub": "ssh-ed25519 AAAA deploy\n",
    });
    const run = plc(dir, ["build", "-i", "inventory_template/inventory.yaml", "image=x/y:1", "-o", "out"]);
    assert.equal(run.status, 0, run.stderr);
    const files = readdirSync(join(dir, "out"));
    const tarball = gunzipSync(readFileSync(join(dir, "out", files.find((file) => file.endsWith(".tar.gz")) ?? ""))).toString("latin1");
    const secrets = readFileSync(join(dir, "out", files.find((file) => file.endsWith(".secrets.env")) ?? ""), "utf8");
    assert.match(secrets, new RegExp(`^SECRET_KEY='?${key}'?$`, "m"));
    // The bare backup_password of the template's tutorial turns backups on.
    assert.match(secrets, /^PLC_BACKUP_PASSWORD='?restic-template-pw'?$/m);
    for (const secret of [key, "restic-template-pw", "hacker-password"]) assert.ok(!tarball.includes(secret), `tarball holds ${secret}`);
    assert.ok(!tarball.includes("vaulted_read"), "no template text in the bundle");
    assert.ok(tarball.includes("backup.sh"));
  });
});
