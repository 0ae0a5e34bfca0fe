// install.sh on a sandbox host: prerequisites, lock, checksums, layout, image, units, health,
// idempotence, uninstall, and nothing leaking onto the machine running the tests.
import assert from "node:assert/strict";
import { lstatSync, readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  SandboxHost,
  buildBundle,
  install,
  mustInstall,
  q,
  requireSandbox,
  unpack,
  writeImageArchive,
} from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const IMAGE = "betagouv/mrs:v1";
const BASE = [`image=${IMAGE}`, "prefix=ybs", "instance=hack", "backup_password=correct horse", "dns=ybs.example.com"];
/** Everything install.sh may write, for "nothing changed" comparisons. */
const HOST_ROOTS = ["/home", "/etc/systemd/system", "/etc/logrotate.d", "/etc/nginx/sites-enabled", "/etc/nginx/plc"];

// What the machine looks like before any sandbox ran: compared at the end of this file.
const MACHINE_ROOTS = ["/home", "/etc/systemd/system", "/etc/logrotate.d", "/etc/nginx", "/run/lock", "/srv", "/usr/local/sbin"];
function machineListing(): string {
  const lines: string[] = [];
  const walk = (path: string, depth: number): void => {
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      return;
    }
    lines.push(`${path} ${stat.mode.toString(8)} ${String(stat.uid)} ${stat.isFile() ? String(stat.size) : "-"}`);
    if (stat.isDirectory() && depth < 4) for (const entry of readdirSync(path).sort()) walk(join(path, entry), depth + 1);
  };
  for (const root of MACHINE_ROOTS) walk(root, 0);
  return lines.join("\n");
}
const machineBefore = machineListing();

describe("install.sh on a fresh host", () => {
  it("checks prerequisites first: a missing restic is named and nothing changes", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await SandboxHost.start(t, { hide: ["restic"] });
    assert.notEqual(host.sh("command -v restic").status, 0, "the sandbox hides restic");
    const before = host.snapshot(HOST_ROOTS);
    const result = install(host, buildBundle(BASE));
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /missing on this host: restic\b/);
    assert.match(result.stderr, /nothing was changed/);
    assert.equal(host.snapshot(HOST_ROOTS), before);
    assert.deepEqual(host.calls(), [], "no docker or systemctl call");
  });

  it("refuses to deploy when a secret the bundle needs is missing, names it, and changes nothing", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t);
    const bundle = buildBundle([...BASE, "env.API_TOKEN=t0ken", "secret_env=API_TOKEN"]);
    const dir = unpack(host, bundle);
    const before = host.snapshot(HOST_ROOTS);
    const none = host.sh(`sh ${q(`${dir}/install.sh`)}`);
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /missing secrets: API_TOKEN PLC_BACKUP_PASSWORD; give them with --secrets FILE/);
    // A secrets file that lacks one key: that key is named.
    host.must(`grep -v '^API_TOKEN=' ${q(bundle.secrets)} >${q(`${host.dir}/partial.env`)}`);
    const partial = host.sh(`sh ${q(`${dir}/install.sh`)} --secrets ${q(`${host.dir}/partial.env`)}`);
    assert.notEqual(partial.status, 0);
    assert.match(partial.stderr, /missing secrets: API_TOKEN;/);
    assert.equal(host.snapshot(HOST_ROOTS), before);
    assert.deepEqual(host.calls(), [], "no docker or systemctl call");
  });

  it("names bad state before changing anything: a stopped docker daemon, a home that is a file, a dangling current", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t);
    const bundle = buildBundle(BASE);
    const cases: [string, string, string, RegExp][] = [
      ["docker daemon down", `printf down >${host.state}/daemon`, `rm ${host.state}/daemon`, /docker does not answer \(is its daemon running/],
      ["home is a file", `printf x >${HOME}`, `rm ${HOME}`, /\/home\/ybs-hack exists and is not a directory/],
      ["current dangles", `mkdir -p ${HOME}/releases && ln -s releases/gone ${HOME}/current`, `rm -r ${HOME}`, /current points to a missing release/],
    ];
    for (const [label, breakIt, mendIt, message] of cases) {
      host.must(breakIt);
      const before = host.snapshot(HOST_ROOTS);
      const result = install(host, bundle);
      assert.notEqual(result.status, 0, label);
      assert.match(result.stderr, message, label);
      assert.equal(host.snapshot(HOST_ROOTS), before, `${label}: something changed`);
      assert.ok(!host.calls().some((call) => /^docker '(pull|load|run)'/.test(call)), label);
      host.must(mendIt);
    }
    mustInstall(host, bundle);
  });

  it("takes a lock: a concurrent install is refused and changes nothing", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t);
    const bundle = buildBundle(BASE);
    const dir = unpack(host, bundle);
    const before = host.snapshot(HOST_ROOTS);
    // Another install holds the lock while this one starts.
    const result = host.sh(
      `flock /run/lock/plc-${NAME}.lock sh ${q(`${dir}/install.sh`)} --secrets ${q(bundle.secrets)}`,
    );
    assert.equal(result.status, 1);
    assert.match(result.stderr, /another install of ybs-hack is running/);
    assert.equal(host.snapshot(HOST_ROOTS), before);
    assert.deepEqual(host.calls(), []);
    // Two at once: one deploys, the other is refused (or waits its turn after the first finished).
    const first = host.spawn(`sh ${q(`${dir}/install.sh`)} --secrets ${q(bundle.secrets)}`);
    const second = host.spawn(`sh ${q(`${dir}/install.sh`)} --secrets ${q(bundle.secrets)}`);
    const results = await Promise.all([first.done, second.done]);
    const ok = results.filter((r) => r.status === 0);
    const refused = results.filter((r) => r.status !== 0);
    assert.ok(ok.length >= 1, results.map((r) => r.stderr).join("\n"));
    for (const r of refused) assert.match(r.stderr, /another install of ybs-hack is running/);
    assert.equal(host.sh(`readlink ${HOME}/current`).stdout.trim(), `releases/${bundle.id}`);
  });

  it("verifies SHA256SUMS before anything: an altered, extra or symlinked file changes nothing", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t);
    const bundle = buildBundle(BASE);
    const cases: [string, string, RegExp][] = [
      ["altered", `printf '\\n# evil\\n' >>DIR/docker-run.sh`, /checksum mismatch/],
      ["truncated", `: >DIR/env.tmp && head -c 10 DIR/backup.sh >DIR/env.tmp && mv DIR/env.tmp DIR/backup.sh`, /checksum mismatch/],
      ["extra", `printf 'x' >DIR/hooks.sh`, /files SHA256SUMS does not list/],
      ["symlink", `ln -s /etc/passwd DIR/passwd`, /SHA256SUMS does not list|symlink/],
      ["missing", `rm DIR/prune.sh`, /checksum mismatch|FAILED|No such file/],
    ];
    const before = host.snapshot(HOST_ROOTS);
    for (const [label, edit, message] of cases) {
      const dir = unpack(host, bundle);
      host.must(edit.replaceAll("DIR", q(dir)));
      const result = host.sh(`sh ${q(`${dir}/install.sh`)} --secrets ${q(bundle.secrets)}`);
      assert.equal(result.status, 1, `${label}: ${result.stdout}`);
      assert.match(result.stderr, message, label);
      assert.match(result.stderr, /nothing was changed/, label);
      assert.equal(host.snapshot(HOST_ROOTS), before, `${label}: the host changed`);
      assert.deepEqual(host.calls(), [], `${label}: docker or systemctl was called`);
    }
  });

  it("lays out directories, files, modes and owners, and passes the env byte for byte", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t);
    host.image(IMAGE, { user: "1000:2000", body: "hello from v1\n" });
    const greeting = `it's "quoted" $HOME \`id\` \\ back\nsecond line\ttab ünïcödé 🔐 %s %%`;
    const secret = `s3cr3t'; rm -rf / #\n$(id) "x" \\`;
    const bundle = buildBundle([...BASE, `env.GREETING=${greeting}`, `env.SECRET_KEY=${secret}`, "secret_env=SECRET_KEY"]);
    const out = mustInstall(host, bundle);
    assert.match(out, new RegExp(`deployed release ${bundle.id}`));

    const stat = (path: string) => lstatSync(host.path(path));
    const mode = (path: string) => (stat(path).mode & 0o7777).toString(8).padStart(4, "0");
    const owner = (path: string) => `${String(stat(path).uid)}:${String(stat(path).gid)}`;
    assert.equal(mode(HOME), "0755");
    assert.equal(owner(HOME), "0:0");
    assert.equal(host.sh(`readlink ${HOME}/current`).stdout.trim(), `releases/${bundle.id}`);
    assert.ok(stat(`${HOME}/releases/${bundle.id}`).isDirectory());
    for (const file of [".env", ".secrets.env", ".backup_password"]) {
      assert.equal(mode(`${HOME}/${file}`), "0600", file);
      assert.equal(owner(`${HOME}/${file}`), "0:0", file);
    }
    assert.equal(host.read(`${HOME}/.backup_password`), "correct horse");
    assert.equal(host.read(`${HOME}/docker-image`), `${IMAGE}\n`);
    assert.equal(mode(`${HOME}/docker-image`), "0644");
    // Data belongs to the image's user; it lives beside releases, never inside one.
    assert.equal(owner(`${HOME}/log`), "1000:2000");
    assert.equal(mode(`${HOME}/log`), "0755");
    for (const script of ["docker-run.sh", "backup.sh", "restore.sh", "prune.sh", "uninstall.sh"]) {
      assert.equal(host.sh(`readlink ${HOME}/${script}`).stdout.trim(), `current/${script}`, script);
      assert.equal(mode(`${HOME}/releases/${bundle.id}/${script}`), "0755", script);
    }
    // No release file writable by others; no secret inside a release.
    assert.equal(host.sh(`find ${HOME}/releases -perm /022 ! -type l`).stdout, "");
    assert.equal(host.sh(`grep -rlF s3cr3t ${HOME}/releases ${HOME}/.env`).stdout, "");
    assert.ok(!existsSync(host.path(`${HOME}/releases/${bundle.id}/image.tar`)));

    // The container got every value exactly, by name: none on any command line.
    const env = host.containerEnv(NAME);
    assert.equal(env.get("GREETING"), greeting);
    assert.equal(env.get("SECRET_KEY"), secret);
    const calls = host.calls().join("\n");
    assert.ok(!calls.includes("s3cr3t") && !calls.includes("ünïcödé") && !calls.includes("correct horse"), calls);
    assert.match(calls, /'--env' 'GREETING'/);

    const container = host.container(NAME);
    assert.deepEqual(container, { image: IMAGE, running: true });
    // The health check asked the container's published port.
    const port = /--publish' '127\.0\.0\.1:(\d+):8000'/.exec(calls)?.[1];
    assert.ok(port !== undefined);
    assert.equal(host.must(`curl -sf http://127.0.0.1:${port}/`), "hello from v1\n");
    assert.match(readFileSync(join(host.state, "containers", NAME, "log"), "utf8"), /url:\//, "curl reached the container");
  });

  it("pulls the image when the bundle has none and loads image.tar when it has one", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const pulled = await SandboxHost.start(t);
    pulled.image(IMAGE, { user: "app" , uid: "1500", gid: "1600" });
    mustInstall(pulled, buildBundle(BASE));
    assert.ok(pulled.calls().some((call) => call === `docker 'pull' '--quiet' '${IMAGE}'`));
    assert.ok(!pulled.calls().some((call) => call.startsWith("docker 'load'")));
    // A user name is looked up in the image itself.
    const log = lstatSync(pulled.path(`${HOME}/log`));
    assert.deepEqual([log.uid, log.gid], [1500, 1600]);

    const loaded = await SandboxHost.start(t);
    const archive = join(loaded.dir, "app.tar");
    writeImageArchive(archive, "local/app:air-gapped", { user: "1234", env: ["PLAYLABS_PLUGINS="] });
    loaded.image("local/app:air-gapped", { pull: "fail" });
    const bundle = buildBundle(BASE.map((arg) => (arg.startsWith("image=") ? "image=local/app:air-gapped" : arg)), {
      imageArchive: archive,
    });
    const out = mustInstall(loaded, bundle);
    assert.match(out, /loading the image from image\.tar/);
    assert.ok(loaded.calls().some((call) => /^docker 'load' '--input' '.*\/image\.tar'$/.test(call)), loaded.calls().join("\n"));
    assert.ok(!loaded.calls().some((call) => call.startsWith("docker 'pull'")));
    assert.equal(loaded.container(NAME)?.image, "local/app:air-gapped");
    assert.equal(lstatSync(loaded.path(`${HOME}/log`)).uid, 1234);
    assert.ok(!existsSync(loaded.path(`${HOME}/releases/${bundle.id}/image.tar`)), "image.tar stays out of the release");
  });

  it("installs the systemd units, the logrotate file and the vhost, and enables the timers", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t);
    const bundle = buildBundle([...BASE, "dns_redirect=www.ybs.example.com", '{"htaccess":[{"user":"alice","password":"s3cret pass"}]}']);
    mustInstall(host, bundle);
    const release = `${HOME}/releases/${bundle.id}`;
    for (const unit of ["backup-ybs-hack.service", "backup-ybs-hack.timer", "prune-ybs-hack.service", "prune-ybs-hack.timer"]) {
      assert.equal(host.read(`/etc/systemd/system/${unit}`), host.read(`${release}/systemd/${unit}`), unit);
      assert.equal((lstatSync(host.path(`/etc/systemd/system/${unit}`)).mode & 0o777).toString(8), "644");
    }
    assert.deepEqual(readdirSync(join(host.state, "systemd", "enabled")).sort(), ["backup-ybs-hack.timer", "prune-ybs-hack.timer"]);
    const calls = host.calls();
    const reload = calls.indexOf("systemctl 'daemon-reload'");
    const enable = calls.indexOf("systemctl 'enable' '--now' 'backup-ybs-hack.timer' 'prune-ybs-hack.timer'");
    assert.ok(reload >= 0 && enable > reload, calls.join("\n"));
    assert.ok(calls.includes("systemctl 'reload' 'nginx'"));

    assert.equal(host.read(`/etc/logrotate.d/${NAME}`), host.read(`${release}/logrotate/${NAME}`));
    const logrotate = lstatSync(host.path(`/etc/logrotate.d/${NAME}`));
    assert.deepEqual([logrotate.mode & 0o777, logrotate.uid], [0o644, 0]);

    const vhost = "/etc/nginx/sites-enabled/ybs.example.com.conf";
    assert.equal(host.read(vhost), host.read(`${release}/nginx/ybs.example.com.conf`));
    assert.match(host.read(vhost), /server_name www\.ybs\.example\.com;/);
    const htpasswd = lstatSync(host.path(`/etc/nginx/plc/${NAME}.htpasswd`));
    assert.equal(htpasswd.mode & 0o777, 0o640);
    assert.ok(!host.read(`/etc/nginx/plc/${NAME}.htpasswd`).includes("s3cret pass"), "hashed, not plain");
    assert.equal(host.sh("nginx -t").status, 0, "the host's own nginx accepts the vhost");
  });
});

describe("idempotence", () => {
  it("install.sh twice gives the same host state", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t);
    host.image(IMAGE, { user: "1000" });
    const bundle = buildBundle([...BASE, "env.A=1", "secret_env=B", "env.B=2"]);
    mustInstall(host, bundle);
    // The second run backs up the running release first: repository, restic cache and lock file are new.
    const exclude = [`${HOME}/restic`, `${HOME}/.cache`, `${HOME}/.lock`];
    const first = host.snapshot(HOST_ROOTS, exclude);
    const firstEnv = host.containerEnv(NAME);
    mustInstall(host, bundle);
    assert.equal(host.snapshot(HOST_ROOTS, exclude), first);
    assert.deepEqual(host.containerEnv(NAME), firstEnv);
    assert.deepEqual(host.container(NAME), { image: IMAGE, running: true });
    assert.equal(host.read(`${HOME}/releases.log`), `${bundle.id} ${IMAGE}\n`);
    assert.equal(host.must("docker ps --quiet | wc -l").trim(), "1", "one container");
  });
});

describe("a container removed by hand", () => {
  it("its network keeps the instance's name, which docker inspect also answers to: the next deploy still starts one", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t);
    host.image(IMAGE, { user: "1000" });
    const bundle = buildBundle(BASE);
    mustInstall(host, bundle);
    host.must(`docker rm -f ${NAME}`);
    assert.equal(host.sh(`docker inspect ${NAME} >/dev/null 2>&1`).status, 0, "the shim answers for the network, as docker does");
    const result = install(host, bundle);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(host.container(NAME), { image: IMAGE, running: true });
  });
});

describe("uninstall.sh", () => {
  it("removes units, vhost, logrotate file and containers, keeps data unless --purge", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t);
    mustInstall(host, buildBundle(BASE));
    host.must(`printf 'keep me\\n' >${HOME}/log/app.log && ${HOME}/backup.sh`);
    const out = host.must(`${HOME}/uninstall.sh`);
    assert.match(out, /data kept/);
    assert.equal(host.sh("ls /etc/systemd/system | grep ybs-hack").stdout, "");
    assert.ok(!host.exists(`/etc/logrotate.d/${NAME}`));
    assert.ok(!host.exists("/etc/nginx/sites-enabled/ybs.example.com.conf"));
    assert.equal(host.must("docker ps --all --quiet"), "");
    assert.notEqual(host.sh(`docker network inspect ${NAME}`).status, 0);
    assert.deepEqual(readdirSync(join(host.state, "systemd", "enabled")), []);
    assert.equal(host.read(`${HOME}/log/app.log`), "keep me\n");
    assert.ok(host.exists(`${HOME}/restic/config`));
    assert.equal(host.sh("nginx -t").status, 0);

    mustInstall(host, buildBundle(BASE));
    host.must(`${HOME}/uninstall.sh --purge`);
    assert.ok(!host.exists(HOME));
    assert.equal(host.must("docker ps --all --quiet"), "");
  });
});

describe("the sandbox", () => {
  // Last in this file: every sandbox above was torn down by now.
  it("leaks nothing onto the machine (home, units, logrotate, nginx, locks)", () => {
    assert.equal(machineListing(), machineBefore);
  });
});
