// Upgrades and failed deploys on a sandbox host: backup first, atomic switch, rollback, and every
// failure leaving the previous release running.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SandboxHost, buildBundle, install, mustInstall, q, requireSandbox, unpack, writeImageArchive } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const V1 = "betagouv/mrs:v1";
const V2 = "betagouv/mrs:v2";
const V3 = "betagouv/mrs:v3";

function args(image: string, ...extra: string[]): string[] {
  return [`image=${image}`, "prefix=ybs", "instance=hack", "backup_password=pw", "healthcheck_timeout=2", ...extra];
}

/** restic on the host, with the instance's repository and password file. */
function restic(host: SandboxHost, command: string): string {
  return host.must(`RESTIC_REPOSITORY=${HOME}/restic RESTIC_PASSWORD_FILE=${HOME}/.backup_password restic ${command}`);
}

function containerId(host: SandboxHost): string {
  return readFileSync(join(host.state, "containers", NAME, "id"), "utf8");
}

describe("upgrade", () => {
  it("backs up first, switches current atomically, keeps the previous releases, and rolls back", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { body: "v1\n" });
    host.image(V2, { body: "v2\n" });
    host.image(V3, { body: "v3\n" });
    const a = buildBundle(args(V1, "releases_kept=2"));
    const b = buildBundle(args(V2, "releases_kept=2"));
    const c = buildBundle(args(V3, "releases_kept=2"));
    mustInstall(host, a);
    host.must(`printf 'before the upgrade\\n' >${HOME}/log/app.log`);

    // A reader polls `current` during the upgrade: it must always resolve, to the old or the new release.
    const stop = join(host.dir, "tmp", "stop-watch");
    const watch = host.spawn(
      `while [ ! -f ${q(stop)} ]; do readlink ${HOME}/current || echo MISSING; [ -e ${HOME}/current/install.sh ] || echo BROKEN; done`,
    );
    const dir = unpack(host, b);
    const out = host.must(`sh ${q(`${dir}/install.sh`)} --secrets ${q(b.secrets)}`);
    writeFileSync(stop, "");
    const seen = new Set((await watch.done).stdout.split("\n").filter((line) => line !== ""));
    assert.ok(seen.size > 0);
    for (const value of seen) assert.ok([`releases/${a.id}`, `releases/${b.id}`].includes(value), `current was ${value}`);

    // The backup ran before the new container: its snapshot holds the old image reference.
    assert.ok(out.indexOf("backing up before the upgrade") < out.indexOf(`started ${NAME} (${V2})`), out);
    const snapshots = JSON.parse(restic(host, "snapshots --json")) as { id: string }[];
    assert.equal(snapshots.length, 1);
    assert.equal(restic(host, `dump latest ${HOME}/docker-image`), `${V1}\n`);
    assert.equal(restic(host, `dump latest ${HOME}/log/app.log`), "before the upgrade\n");

    assert.equal(host.must(`readlink ${HOME}/current`).trim(), `releases/${b.id}`);
    assert.ok(host.exists(`${HOME}/releases/${a.id}/install.sh`), "the previous release is kept");
    assert.equal(host.read(`${HOME}/releases.log`), `${a.id} ${V1}\n${b.id} ${V2}\n`);
    assert.equal(host.read(`${HOME}/docker-image`), `${V2}\n`);
    assert.deepEqual(host.container(NAME), { image: V2, running: true });
    assert.equal(host.read(`${HOME}/log/app.log`), "before the upgrade\n", "data stays outside releases");

    // --rollback restarts the release before the current one.
    const rollback = host.must(`${HOME}/current/install.sh --rollback`);
    assert.match(rollback, new RegExp(`rolled back to release ${a.id}`));
    assert.equal(host.must(`readlink ${HOME}/current`).trim(), `releases/${a.id}`);
    assert.deepEqual(host.container(NAME), { image: V1, running: true });
    assert.equal(host.must(`curl -sf http://127.0.0.1:$(sed -n "s/.*127\\.0\\.0\\.1:\\([0-9]*\\):.*/\\1/p" ${HOME}/current/docker-run.sh)/`), "v1\n");

    // Only releases_kept releases stay.
    mustInstall(host, c);
    const releases = host.must(`ls ${HOME}/releases`).split("\n").filter((line) => line !== "").sort();
    assert.equal(releases.length, 2, releases.join(" "));
    assert.ok(releases.includes(c.id));
    assert.deepEqual(host.container(NAME), { image: V3, running: true });
  });
});

describe("failed deploys", () => {
  it("a failed backup aborts the upgrade before anything changes", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await SandboxHost.start(t);
    const a = buildBundle(args(V1, "env.SECRET_KEY=one", "secret_env=SECRET_KEY"));
    const b = buildBundle(args(V2, "env.SECRET_KEY=two", "secret_env=SECRET_KEY"));
    mustInstall(host, a);
    host.must(`${HOME}/backup.sh`);
    // The repository no longer opens with the password on the host: restic fails.
    host.must(`printf 'not the password' >${HOME}/.backup_password`);
    const roots = [HOME, "/etc/systemd/system", "/etc/logrotate.d"];
    const exclude = [`${HOME}/releases/${b.id}`, `${HOME}/.lock`];
    const before = host.snapshot(roots, exclude);
    const id = containerId(host);
    const calls = host.calls().length;

    const result = install(host, b);
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stderr, /backup failed: the deploy stopped/);
    assert.equal(host.snapshot(roots, exclude), before);
    assert.equal(containerId(host), id, "the running container was not touched");
    assert.deepEqual(host.container(NAME), { image: V1, running: true });
    assert.equal(host.containerEnv(NAME).get("SECRET_KEY"), "one");
    const after = host.calls().slice(calls);
    assert.ok(!after.some((call) => /^docker '(run|rm|stop)'/.test(call)), after.join("\n"));
    assert.ok(!after.some((call) => call.startsWith("systemctl")), after.join("\n"));
  });

  it("a failed health check restarts the previous release, exits non-zero and prints the container's logs", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { body: "v1\n" });
    host.image(V2, { health: "down", log: "v2 boot: cannot reach the database" });
    const a = buildBundle(args(V1, "env.SECRET_KEY=one", "secret_env=SECRET_KEY", "dns=ybs.example.com"));
    const b = buildBundle(args(V2, "env.SECRET_KEY=two", "secret_env=SECRET_KEY", "dns=ybs.example.com", "dns_redirect=old.example.com"));
    mustInstall(host, a);
    const vhost = host.read("/etc/nginx/sites-enabled/ybs.example.com.conf");

    const result = install(host, b);
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stderr, /no healthy answer from http:\/\/127\.0\.0\.1:\d+\/ within 2s/);
    assert.match(result.stderr, /last container logs:\n(.*\n)*v2 boot: cannot reach the database/);
    assert.match(result.stderr, new RegExp(`restarted the previous release ${a.id}`));
    assert.equal(host.must(`readlink ${HOME}/current`).trim(), `releases/${a.id}`);
    assert.equal(host.read(`${HOME}/docker-image`), `${V1}\n`);
    assert.deepEqual(host.container(NAME), { image: V1, running: true });
    assert.equal(host.containerEnv(NAME).get("SECRET_KEY"), "one", "the previous secrets are back");
    assert.match(host.read(`${HOME}/.secrets.env`), /^SECRET_KEY=one$/m);
    assert.equal(host.read("/etc/nginx/sites-enabled/ybs.example.com.conf"), vhost, "the vhost was not switched");
    assert.equal(host.read(`${HOME}/releases.log`), `${a.id} ${V1}\n`);
    assert.ok(!host.exists(`${HOME}/.secrets.env.prev`));

    // On a fresh host there is nothing to go back to: the failed container goes away.
    const fresh = await SandboxHost.start(t);
    fresh.image(V2, { health: "crash" });
    const failed = install(fresh, b);
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /crashed at start/);
    assert.equal(fresh.container(NAME), undefined);
    assert.ok(!fresh.exists(`${HOME}/current`));
  });

  it("a bundle whose checksum fails changes nothing on an installed host", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await SandboxHost.start(t);
    mustInstall(host, buildBundle(args(V1)));
    const b = buildBundle(args(V2));
    const roots = ["/home", "/etc/systemd/system", "/etc/logrotate.d", "/etc/nginx/sites-enabled"];
    const before = host.snapshot(roots);
    const calls = host.calls().length;
    const dir = unpack(host, b);
    host.must(`sed -i 's/unless-stopped/always/' ${q(`${dir}/docker-run.sh`)}`);
    const result = host.sh(`sh ${q(`${dir}/install.sh`)} --secrets ${q(b.secrets)}`);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /docker-run\.sh: FAILED/);
    assert.match(result.stderr, /checksum mismatch: the bundle was altered or truncated \(nothing was changed\)/);
    assert.equal(host.snapshot(roots), before);
    assert.deepEqual(host.calls().slice(calls), []);
    assert.deepEqual(host.container(NAME), { image: V1, running: true });
  });
});

describe("rollback from the release copy", () => {
  it("works for air-gapped and --embed-secrets bundles, whose copy leaves out image.tar and secrets.env", async (t) => {
    if (!requireSandbox(t)) return;
    const host = await SandboxHost.start(t);
    const built: string[] = [];
    for (const version of ["v1", "v2"]) {
      const archive = join(host.dir, "tmp", `app-${version}.tar`);
      writeImageArchive(archive, `local/app:${version}`, { user: "1000" });
      host.image(`local/app:${version}`, { body: `${version}\n`, pull: "fail" });
      const bundle = buildBundle(["image=local/app:" + version, "prefix=ybs", "instance=hack", "healthcheck_timeout=2", "env.S=s-" + version, "secret_env=S", "--embed-secrets"], { imageArchive: archive });
      mustInstall(host, bundle);
      built.push(bundle.id);
    }
    const rollback = host.sh(`${HOME}/current/install.sh --rollback`);
    assert.equal(rollback.status, 0, rollback.stderr);
    assert.equal(host.must(`readlink ${HOME}/current`).trim(), `releases/${built[0] ?? ""}`);
    assert.deepEqual(host.container(NAME), { image: "local/app:v1", running: true });
    // A tampered release copy is still refused.
    host.must(`printf x >>${HOME}/current/docker-run.sh`);
    const tampered = host.sh(`${HOME}/releases/${built[1] ?? ""}/install.sh --rollback`);
    assert.equal(tampered.status, 1);
  });
});

describe("a failed pre-deploy backup", () => {
  it("stops before the data directories are handed to the new image's user", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { user: "1000", body: "v1\n" });
    host.image(V2, { user: "2000", body: "v2\n" });
    mustInstall(host, buildBundle(args(V1)));
    host.must(`${HOME}/backup.sh`);
    host.must(`printf 'not the password' >${HOME}/.backup_password`);
    const result = install(host, buildBundle(args(V2)));
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stderr, /backup failed: the deploy stopped/);
    assert.equal(host.must(`stat -c %u ${HOME}/log`).trim(), "1000");
    assert.doesNotMatch(result.stdout, /pulling betagouv\/mrs:v2/);
  });
});
