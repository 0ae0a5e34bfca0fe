// plc init, plc install and offline prep bundles on a fresh Debian 12 (test/prep/host.ts): over real
// ssh, with real sshd, sudo, visudo, useradd, dpkg/apt, nft and nginx -t as the oracles.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, ROOT } from "../fixtures.js";
import { ENGINE_CACHE } from "../engine/engine.js";
import { PrepHost, requirePrepHost } from "./host.js";

function keygen(file: string): string {
  const result = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", file, "-f", file]);
  assert.equal(result.status, 0);
  return readFileSync(`${file}.pub`, "utf8");
}

/** playlabs' users format: bob (sudo, docker) and deploy have keys, carol has none, olduser goes. */
function writeInventory(dir: string): { bob: string; deploy: string } {
  mkdirSync(join(dir, "group_vars", "all"), { recursive: true });
  mkdirSync(join(dir, "keys"));
  writeFileSync(join(dir, "inventory.yaml"), "all:\n  hosts:\n    somehost:\n      ansible_host: 127.0.0.1\n");
  writeFileSync(
    join(dir, "group_vars", "all", "users.yml"),
    [
      "users:",
      "- name: bob",
      "  email: bob@example.com",
      "  roles:",
      "    ssh: [sudo, adm]",
      "    docker: [docker]",
      "- name: deploy",
      "  sudo:",
      "  - /home/*/backup.sh",
      "- name: carol",
      "  email: carol@example.com",
      "users_remove:",
      "- name: olduser",
      "",
    ].join("\n"),
  );
  const bob = keygen(join(dir, "bob"));
  const deploy = keygen(join(dir, "deploy"));
  copyFileSync(join(dir, "bob.pub"), join(dir, "keys", "bob.pub"));
  copyFileSync(join(dir, "deploy.pub"), join(dir, "keys", "deploy.pub"));
  return { bob, deploy };
}

/** The authentication methods the live sshd offers: "publickey,password" until password login is off. */
function offeredMethods(host: PrepHost, user: string): string {
  const result = host.ssh(["-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no", `${user}@127.0.0.1`, "true"]);
  return /Permission denied \(([^)]*)\)/.exec(result.stderr)?.[1] ?? result.stderr;
}

describe("plc init and plc install on a fresh Debian 12", () => {
  it("init makes a sudo user and turns password login off; install makes the inventory's users and the restricted deploy user; a rerun changes nothing", async (t) => {
    if (!requirePrepHost(t)) return;
    const host = await PrepHost.start();
    t.after(() => {
      host.stop();
    });
    const inventory = join(host.dir, "inventory");
    const keys = writeInventory(inventory);
    host.must("useradd --create-home olduser");
    assert.equal(offeredMethods(host, "root"), "publickey,password");

    await t.test("plc init root@host: alice, her key, sudo; password login off after a key login", async () => {
      const result = await host.plc(["init", "root@127.0.0.1", "-u", "alice", "--key", `${host.key}.pub`, "-F", host.config]);
      assert.equal(result.status, 0, result.stderr + result.stdout);
      assert.match(host.must("id -nG alice"), /alice/);
      assert.equal(host.read("home/alice/.ssh/authorized_keys"), readFileSync(`${host.key}.pub`, "utf8"));
      host.must("visudo -cf /etc/sudoers.d/plc-init-alice");
      assert.match(host.read("etc/ssh/sshd_config.d/00-plc.conf"), /^PasswordAuthentication no$/m);
      // The live sshd (reloaded), not only its file: password is no longer offered.
      assert.equal(offeredMethods(host, "alice"), "publickey");
      assert.equal(host.ssh(["alice@127.0.0.1", "sudo", "-n", "id", "-u"]).stdout.trim(), "0");
    });

    const signer = join(host.dir, "signer");
    keygen(signer);
    const install = ["install", "ssh,deploy", "alice@127.0.0.1", "-i", inventory, "--signer", `${signer}.pub`, "-F", host.config];

    await t.test("plc install ssh,deploy as alice: accounts, groups, keys, checked sudoers; users_remove removed", async () => {
      const result = await host.plc(install);
      assert.equal(result.status, 0, result.stderr + result.stdout);
      assert.match(result.stdout, /user bob created/);
      assert.match(host.must("id -nG bob"), /\badm\b/);
      assert.match(host.must("id -nG bob"), /\busers\b/);
      assert.equal(host.read("home/bob/.ssh/authorized_keys"), keys.bob);
      assert.equal(host.read("home/deploy/.ssh/authorized_keys"), keys.deploy);
      assert.equal(host.sh("id carol").status, 1, "no key, no account (playlabs)");
      assert.equal(host.sh("id olduser").status, 1, "users_remove");
      assert.match(host.read("etc/sudoers.d/plc-user-bob"), /^bob ALL=\(ALL:ALL\) NOPASSWD: ALL$/m);
      assert.match(host.read("etc/sudoers.d/plc-user-deploy"), /^deploy ALL=\(root\) NOPASSWD: \/home\/\*\/backup\.sh$/m);
      host.must("visudo -c");
      assert.equal(host.ssh(["-i", join(inventory, "bob"), "bob@127.0.0.1", "sudo", "-n", "id", "-u"]).stdout.trim(), "0");
      // The deploy user may run plc-install only.
      const deploy = host.ssh(["-i", join(inventory, "deploy"), "deploy@127.0.0.1", "sudo", "-n", "true"]);
      assert.notEqual(deploy.status, 0);
      assert.match(host.ssh(["-i", join(inventory, "deploy"), "deploy@127.0.0.1", "sudo", "-n", "-l"]).stdout, /\/usr\/local\/sbin\/plc-install/);
    });

    await t.test("a second run changes nothing and says so", async () => {
      const before = host.must("find /etc /home -newer /etc/hostname -printf '%p %m %s %T@\\n' | sort");
      const result = await host.plc(install);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /prep: nothing to change: ssh deploy already in place/);
      assert.equal(host.must("find /etc /home -newer /etc/hostname -printf '%p %m %s %T@\\n' | sort"), before);
    });

    await t.test("--check says what would change and changes nothing", async () => {
      host.must("rm /etc/sudoers.d/plc-user-bob && gpasswd -d bob adm");
      const result = await host.plc([...install, "--check"]);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /would: \/etc\/sudoers\.d\/plc-user-bob written/);
      assert.match(result.stdout, /would: user bob joined adm/);
      assert.match(result.stdout, /2 change\(s\) pending/);
      assert.equal(host.exists("etc/sudoers.d/plc-user-bob"), false);
      assert.doesNotMatch(host.must("id -nG bob"), /\badm\b/);
      const applied = await host.plc(install);
      assert.equal(applied.status, 0, applied.stderr);
      assert.equal(host.exists("etc/sudoers.d/plc-user-bob"), true);
    });

    await t.test("plc-install verifies the bundle's signature before installing; a bad one is refused", () => {
      const dist = join(host.dir, "dist");
      const built = spawnSync(process.execPath, [CLI, "build", "-o", dist, "image=registry.example.com/app:v1", "prefix=ybs", "instance=hack"], { encoding: "utf8" });
      assert.equal(built.status, 0, built.stderr);
      const bundle = built.stdout.trim().split("\n").find((line) => line.endsWith(".tar.gz")) ?? "";
      const other = join(host.dir, "other-signer");
      keygen(other);
      const signed = spawnSync(process.execPath, [CLI, "sign", bundle, "--key", signer], { encoding: "utf8" });
      assert.equal(signed.status, 0, signed.stderr);
      const drop = join(host.root, "home/deploy");
      copyFileSync(bundle, join(drop, "b.tar.gz"));
      copyFileSync(`${bundle}.sig`, join(drop, "good.sig"));
      spawnSync(process.execPath, [CLI, "sign", bundle, "--key", other]);
      copyFileSync(`${bundle}.sig`, join(drop, "other.sig"));
      writeFileSync(join(drop, "tampered.tar.gz"), Buffer.concat([readFileSync(bundle), Buffer.from("x")]));
      host.must("chown deploy: /home/deploy/*.sig /home/deploy/*.tar.gz");
      const asDeploy = (args: string): ReturnType<PrepHost["ssh"]> => host.ssh(["-i", join(inventory, "deploy"), "deploy@127.0.0.1", `cd && sudo -n /usr/local/sbin/plc-install ${args}`]);
      for (const args of ["b.tar.gz other.sig --check", "tampered.tar.gz good.sig --check"]) {
        const refused = asDeploy(args);
        assert.equal(refused.status, 1, refused.stderr);
        assert.match(refused.stderr, /signature does not verify against \/etc\/plc\/allowed_signers \(nothing was changed\)/);
      }
      // A path only root may read stays unread: plc-install reads as the caller.
      assert.match(asDeploy("/etc/shadow good.sig").stderr, /cannot read \/etc\/shadow as deploy/);
      const good = asDeploy("b.tar.gz good.sig --check");
      // Past the signature: install.sh --check itself runs (and finds this bare host lacks docker).
      assert.doesNotMatch(good.stderr, /signature/);
      assert.match(good.stderr, /^install\.sh: error: missing on this host: docker/m);
    });

    await t.test("plc ship as the deploy user: an unsigned bundle is refused, a signed one deploys through plc-install", async () => {
      // The sandbox's docker shim (test/host/shims) stands in for the engine; busybox httpd for the app.
      mkdirSync(join(host.root, "opt/plc-shims"), { recursive: true });
      copyFileSync(join(ROOT, "test/host/shims/docker"), join(host.root, "opt/plc-shims/docker"));
      writeFileSync(join(host.root, "usr/local/sbin/docker"), "#!/bin/sh\nPLC_SHIM_STATE=/var/lib/plc-shim\nexport PLC_SHIM_STATE\nexec sh /opt/plc-shims/docker \"$@\"\n", { mode: 0o755 });
      const dist = join(host.dir, "ship");
      const built = spawnSync(process.execPath, [CLI, "build", "-o", dist, "image=registry.example.com/app:v1", "prefix=ybs", "instance=ship", "healthcheck_timeout=10"], { encoding: "utf8" });
      assert.equal(built.status, 0, built.stderr);
      const bundle = built.stdout.trim().split("\n").find((line) => line.endsWith(".tar.gz")) ?? "";
      const ship = ["ship", bundle, "deploy@127.0.0.1", "-F", host.config, "-o", `IdentityFile=${join(inventory, "deploy")}`];
      const unsigned = await host.plc(ship);
      assert.equal(unsigned.status, 1, unsigned.stderr);
      assert.match(unsigned.stderr, /may install signed bundles only: plc sign BUNDLE --key KEY/);
      assert.equal(host.exists("home/ybs-ship"), false);
      const signed = spawnSync(process.execPath, [CLI, "sign", bundle, "--key", signer], { encoding: "utf8" });
      assert.equal(signed.status, 0, signed.stderr);
      const shipped = await host.plc(ship);
      assert.equal(shipped.status, 0, shipped.stderr + shipped.stdout);
      assert.ok(host.exists("home/ybs-ship/current/MANIFEST.json"), shipped.stderr);
      assert.match(host.read("var/lib/plc-shim/calls.log"), /docker 'run' .*'registry\.example\.com\/app:v1'/);
    });
  });
});

describe("an offline prep bundle on a host with no archive reachable", () => {
  it("installs docker, the firewall and nginx from the bundle's apt repository, then changes nothing", async (t) => {
    if (!requirePrepHost(t)) return;
    const out = mkdtempSync("/var/tmp/plc-prep-dist-");
    t.after(() => {
      rmSync(out, { recursive: true, force: true });
    });
    // Built here, where the archive is reachable; the host's namespace has loopback only.
    const built = spawnSync(process.execPath, [CLI, "build", "--prep", "docker,firewall,nginx", "--offline", "--apt-cache", join(ENGINE_CACHE, "prep-debs"), "-o", out], {
      encoding: "utf8",
      maxBuffer: 1 << 26,
    });
    assert.equal(built.status, 0, built.stderr);
    const bundle = built.stdout.trim();
    const host = await PrepHost.start();
    t.after(() => {
      host.stop();
    });
    assert.notEqual(host.sh("apt-get -q update 2>&1; apt-get -q install -y --no-download nginx").status, 0, "the archive must be unreachable");
    copyFileSync(bundle, join(host.root, "root/prep.tar.gz"));
    const first = host.sh("cd /root && tar xzf prep.tar.gz && sh plc-prep/prep.sh");
    assert.equal(first.status, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /installed: docker\.io/);
    for (const name of ["docker.io", "nftables", "nginx", "restic", "lftp", "logrotate", "curl", "uacme"]) {
      assert.match(host.must(`dpkg-query -W -f='\${db:Status-Status}' ${name}`), /^installed$/, name);
    }
    assert.deepEqual(JSON.parse(host.read("etc/docker/daemon.json")), { "live-restore": true });
    assert.match(host.must("nft list table inet plc"), /tcp dport \{ 22, 80, 443 \} accept/);
    assert.match(host.must("nft list ruleset"), /policy drop/);
    host.must("nginx -t 2>&1");
    assert.match(host.read("var/lib/plc-test-systemctl/calls"), /enable --now docker/);
    const again = host.sh("cd /root && sh plc-prep/prep.sh && sh plc-prep/prep.sh --check");
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout.match(/nothing to change: docker firewall nginx already in place/g)?.length, 2, again.stdout);
  });
});
