// The first plc deploy on a host playlabs deployed (test/host/playlabs-host.ts), and what plc's
// backup, restore and prune scripts then do with what playlabs left: its snapshots, its mirror,
// its units, its postgres server.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it, type TestContext } from "node:test";
import { PLAYLABS, makePlaylabsHost, playlabsBackup, playlabsRows } from "./playlabs-host.js";
import { formatSiteDiff, parseSite, readBundleSide, SITE_MARK } from "../../compiler/diff-site.js";
import { manifestReaderScript } from "../../compiler/ship/diff.js";
import { receiverScript } from "../../compiler/ship/receiver.js";
import { SandboxHost, buildBundle, install, mustInstall, q, requireSandbox } from "./sandbox.js";
import { MIRROR, SFTP_TOOLS, sftpDsn } from "./sftp.js";

const { name: NAME, home: HOME } = PLAYLABS;
const NEW = "betagouv/mrs:new";
const RESTIC_ENV = `RESTIC_REPOSITORY=${HOME}/restic RESTIC_PASSWORD_FILE=${HOME}/.backup_password`;
const REMOTE_ENV = `RESTIC_REPOSITORY=${MIRROR}/${NAME}/restic RESTIC_PASSWORD_FILE=${HOME}/.backup_password`;

interface Snapshot {
  id: string;
  short_id: string;
  hostname: string;
  tags?: string[];
}

function args(...extra: string[]): string[] {
  return [`image=${NEW}`, `prefix=${PLAYLABS.prefix}`, `instance=${PLAYLABS.instance}`, `backup_password=${PLAYLABS.backupPassword}`, "healthcheck_timeout=10", ...extra];
}

function snapshots(host: SandboxHost, env = RESTIC_ENV): Snapshot[] {
  return JSON.parse(host.must(`${env} restic snapshots --json`)) as Snapshot[];
}

function requirePostgres(t: TestContext): boolean {
  if (existsSync("/usr/lib/postgresql")) return true;
  if (process.env["CI"] !== undefined) assert.fail("postgresql missing: .ci/run must install it");
  t.skip("postgresql not installed");
  return false;
}

describe("taking over a playlabs host", () => {
  it("first deploy: backs up into playlabs' repository with its password first, takes over its files, removes its doubling units and says so", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await SandboxHost.start(t);
    const site = makePlaylabsHost(host);
    host.image(NEW, { user: "1000:1000" });
    const config = host.read(`${HOME}/restic/config`);

    // Another backup password would lock every snapshot away: refused before anything changes.
    const before = host.snapshot([HOME, "/etc/systemd/system"]);
    const wrong = install(host, buildBundle([...args(), "backup_password=not-playlabs"], { plugins: ["django"] }));
    assert.equal(wrong.status, 1, wrong.stdout);
    assert.match(wrong.stderr, /the backup password of this bundle does not open the repository in \/home\/ybs-hack\/restic \(on a playlabs host: its backup_password\); nothing was changed/);
    assert.equal(host.snapshot([HOME, "/etc/systemd/system"]), before);

    const out = mustInstall(host, buildBundle(args(), { plugins: ["django"] }));
    assert.match(out, /taking over \/home\/ybs-hack\/docker-image from user deploy/);
    assert.match(out, /taking over \/home\/ybs-hack\/\.backup_password from user deploy/);
    assert.match(out, /backing up before the upgrade/);
    assert.match(out, /backup-ybs-hack\.service no longer runs at every boot/);
    assert.match(out, /removed playlabs' backup-ybs-hack\.prune\.timer/);
    assert.match(out, /removed playlabs' backup-ybs-hack\.prune\.service/);
    assert.ok(out.indexOf("backing up before the upgrade") < out.indexOf("pulling"), out);

    // The same repository (restic writes config once), the playlabs snapshot kept, one plc snapshot of the old site.
    assert.equal(host.read(`${HOME}/restic/config`), config);
    const all = snapshots(host);
    assert.deepEqual(all.map((s) => s.hostname).sort(), [PLAYLABS.machine, NAME].sort());
    assert.ok(all.some((s) => s.short_id === site.snapshot));
    assert.equal(host.read(`${HOME}/.backup_password`), PLAYLABS.backupPassword);
    assert.equal(host.must(`stat -c '%u %a' ${HOME}/.backup_password ${HOME}/docker-image`), "0 600\n0 644\n");
    // What the replaced site ran is found as with playlabs (restic snapshots --tag <commit>): its snapshot
    // and plc's of it, tagged with the image and its commit, holding the replaced container's output.
    const byCommit = JSON.parse(host.must(`${RESTIC_ENV} restic snapshots --json --tag ${PLAYLABS.commit}`)) as Snapshot[];
    assert.deepEqual(byCommit.map((s) => s.hostname).sort(), [PLAYLABS.machine, NAME].sort());
    const plc = byCommit.find((s) => s.hostname === NAME);
    assert.ok(plc !== undefined);
    assert.deepEqual(plc.tags?.sort(), [PLAYLABS.commit, PLAYLABS.image, "plc"].sort());
    assert.match(host.must(`${RESTIC_ENV} restic dump ${plc.id} ${HOME}/.backup/docker.log`), new RegExp(`^${PLAYLABS.appOutput}$`, "m"));
    assert.doesNotMatch(host.must(`docker logs ${NAME}`), new RegExp(PLAYLABS.appOutput), "the replaced container is gone");

    // One backup a day, by plc's timer; no boot backup, no playlabs prune.
    for (const unit of ["backup-ybs-hack.prune.service", "backup-ybs-hack.prune.timer", "basic.target.wants/backup-ybs-hack.service", "timers.target.wants/backup-ybs-hack.prune.timer"]) {
      assert.ok(!host.exists(`/etc/systemd/system/${unit}`), unit);
    }
    assert.equal(host.sh("systemctl is-enabled backup-ybs-hack.service").stdout.trim(), "disabled");
    assert.equal(host.sh("systemctl is-enabled backup-ybs-hack.timer prune-ybs-hack.timer").stdout.trim(), "enabled\nenabled");
    assert.doesNotMatch(host.read("/etc/systemd/system/backup-ybs-hack.service"), /BACKUP_FORCE|WantedBy/);
    assert.deepEqual(host.container(NAME), { image: NEW, running: true });
  });

  it("restore.sh lists playlabs' snapshots (the machine's host name) and restores one (relative paths at the tree root); latest and prune take them too", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await SandboxHost.start(t);
    const site = makePlaylabsHost(host);
    const older = playlabsBackup(host, { time: "2020-01-01 23:00:00" });
    host.image(NEW, { user: "1000:1000" });
    // Retention of one of each: of playlabs' two snapshots (2020 and today) only today's may stay.
    mustInstall(host, buildBundle(args("retention.last=1", "retention.daily=1", "retention.weekly=1", "retention.monthly=1", "retention.yearly=1"), { plugins: ["django"] }));

    const listed = host.must(`${HOME}/restore.sh`);
    assert.match(listed, new RegExp(`^${site.snapshot} .* ${PLAYLABS.machine} .*${PLAYLABS.image}`, "m"));
    assert.match(listed, new RegExp(`^${older} `, "m"));

    host.must(`printf 'damaged\\n' >${HOME}/log/app.log && rm ${HOME}/media/photo.jpg`);
    const restored = host.must(`${HOME}/restore.sh ${site.snapshot}`);
    assert.match(restored, /snapshot [0-9a-f]+ was made by playlabs/);
    assert.equal(host.read(`${HOME}/log/app.log`), "app log line\n");
    assert.equal(host.read(`${HOME}/media/photo.jpg`), "a photo\n");
    assert.equal(host.read(`${HOME}/docker-image`).trim(), PLAYLABS.image);
    assert.deepEqual(host.container(NAME), { image: PLAYLABS.image, running: true });
    assert.ok(!host.exists(`${HOME}/.restore`), "nothing left aside");

    // latest: with plc's snapshot gone, playlabs' newest is the latest of this instance.
    const plcIds = snapshots(host).filter((s) => s.hostname === NAME).map((s) => s.id);
    host.must(`${RESTIC_ENV} restic forget --quiet ${plcIds.join(" ")}`);
    host.must(`printf 'damaged again\\n' >${HOME}/log/app.log`);
    host.must(`${HOME}/restore.sh latest`);
    assert.equal(host.read(`${HOME}/log/app.log`), "app log line\n");

    host.must(`${HOME}/backup.sh`);
    const pruned = host.must(`${HOME}/prune.sh 2>&1`);
    const left = snapshots(host);
    assert.deepEqual(left.filter((s) => s.hostname === PLAYLABS.machine).map((s) => s.short_id), [site.snapshot], pruned);
    assert.equal(left.filter((s) => s.hostname === NAME).length, 1);
  });

  it("restore.sh fetches playlabs' mirror (<dsn>/<name>/restic) when the local repository is gone, and restores its snapshot", async (t) => {
    if (!requireSandbox(t, ...SFTP_TOOLS)) return;
    const host = await SandboxHost.start(t);
    const site = makePlaylabsHost(host, { mirror: true });
    host.image(NEW, { user: "1000:1000" });
    mustInstall(host, buildBundle(args(`lftp_dsn=${sftpDsn()}`), { plugins: ["django"] }));
    // The first deploy's backup went to the same mirror folder: one history.
    assert.deepEqual(snapshots(host, REMOTE_ENV).map((s) => s.hostname).sort(), [PLAYLABS.machine, NAME].sort());

    host.must(`rm -rf ${HOME}/restic && printf 'damaged\\n' >${HOME}/log/app.log`);
    const listed = host.must(`${HOME}/restore.sh`);
    assert.match(listed, /fetching the repository from the mirror/);
    assert.match(listed, new RegExp(`^${site.snapshot} .* ${PLAYLABS.machine} `, "m"));
    host.must(`${HOME}/restore.sh ${site.snapshot}`);
    assert.equal(host.read(`${HOME}/log/app.log`), "app log line\n");
  });

  it("web front: nginx-proxy holds 80/443, so proxy=host-nginx stops before any change; the default (auto) serves through it with VIRTUAL_HOST and LETSENCRYPT_*", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    // No host nginx, as on a playlabs host: plc must not need one behind nginx-proxy.
    const host = await SandboxHost.start(t, { hide: ["nginx"] });
    makePlaylabsHost(host, { proxy: true });
    host.image(NEW, { user: "1000:1000" });
    const web = [`dns=${PLAYLABS.dns}`, `letsencrypt_email=${PLAYLABS.letsencryptEmail}`];
    const proxyId = host.must(`cat "$PLC_SHIM_STATE/containers/nginx-proxy/id"`);
    const before = host.snapshot([HOME, "/etc/systemd/system", "/etc/nginx"]);

    const refused = install(host, buildBundle(args(...web, "proxy=host-nginx"), { plugins: ["django"] }));
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, /the nginx-proxy container holds ports 80 and 443, so host nginx cannot serve hack\.example\.com: .*docker stop nginx-proxy nginx-letsencrypt.*or deploy with proxy=nginx-proxy; nothing was changed/);
    assert.equal(host.snapshot([HOME, "/etc/systemd/system", "/etc/nginx"]), before);
    assert.deepEqual(host.container(NAME), { image: PLAYLABS.image, running: true });

    const out = mustInstall(host, buildBundle(args(...web), { plugins: ["django"] }));
    assert.match(out, /note: the nginx-proxy container serves this host's sites: ybs-hack joins its network with VIRTUAL_HOST=hack\.example\.com/);
    assert.equal(out.match(/note: the nginx-proxy/g)?.length, 1, "said once");
    const env = host.containerEnv(NAME);
    assert.equal(env.get("VIRTUAL_HOST"), PLAYLABS.dns);
    assert.equal(env.get("VIRTUAL_PORT"), "8000");
    assert.equal(env.get("LETSENCRYPT_HOST"), PLAYLABS.dns);
    assert.equal(env.get("LETSENCRYPT_EMAIL"), PLAYLABS.letsencryptEmail);
    assert.deepEqual(host.container(NAME), { image: NEW, running: true });
    assert.ok(host.must(`docker inspect --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' ${NAME}`).split(" ").includes("bridge"), "on nginx-proxy's network");
    assert.ok(!host.exists(`/etc/nginx/sites-enabled/${PLAYLABS.dns}.conf`), "no host vhost");
    assert.equal(host.must(`cat "$PLC_SHIM_STATE/containers/nginx-proxy/id"`), proxyId, "nginx-proxy untouched");
    assert.deepEqual(host.container("nginx-proxy"), { image: PLAYLABS.proxyImage, running: true });

    // restore.sh restarts the app the same way (docker-run.sh decides the front each time).
    host.must(`${HOME}/backup.sh`);
    const latest = snapshots(host).filter((s) => s.hostname === NAME).pop();
    assert.ok(latest !== undefined);
    host.must(`${HOME}/restore.sh ${latest.id}`);
    assert.equal(host.containerEnv(NAME).get("VIRTUAL_HOST"), PLAYLABS.dns);
  });

  it("playlabs' deploy user (sudo without a password only for backup.sh, docker-run.sh, a few docker commands): the receiver names the sudo rule plc ship needs", async (t) => {
    if (!requireSandbox(t, "sudo")) return;
    const host = await SandboxHost.start(t);
    makePlaylabsHost(host);
    // The sandbox's own /etc/sudoers.d (a tmpfs in its mount namespace), with playlabs' users.yml rules.
    host.must(`mount -t tmpfs -o mode=0755 tmpfs /etc/sudoers.d && printf '%s\n' ${q(
      "deploy ALL=(ALL) NOPASSWD: /home/*/backup.sh, /home/*/docker-run.sh, /usr/bin/docker pull *, /usr/bin/docker inspect *, /usr/bin/docker run * id -u, /usr/bin/docker logs *",
    )} >/etc/sudoers.d/deploy && chmod 0440 /etc/sudoers.d/deploy`);
    host.put("/root/receiver.sh", receiverScript());
    const before = host.snapshot([HOME, "/etc/systemd/system"]);
    const run = host.sh(`setpriv --reuid=${String(PLAYLABS.deployUid)} --regid=${String(PLAYLABS.deployUid)} --clear-groups sh -c "$(cat /root/receiver.sh)" plc-ship 0000 ybs-hack </dev/null`);
    assert.equal(run.status, 92, run.stderr);
    assert.match(run.stderr, /user deploy may run only some commands through sudo without a password \(playlabs' deploy user: .*\); plc ship runs as root, which needs the sudoers rule: deploy ALL=\(root\) NOPASSWD: ALL/);
    assert.equal(host.snapshot([HOME, "/etc/systemd/system"]), before);
  });

  it("plc diff's reader on a playlabs host: what the first deploy changes (image, env keys, container arguments, units, vhost), never an env value", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await SandboxHost.start(t);
    makePlaylabsHost(host, { proxy: true });
    const bundle = buildBundle(args(`dns=${PLAYLABS.dns}`, "env.ALLOWED_HOSTS=hack.example.com"), { plugins: ["django"] });
    host.put("/root/reader.sh", manifestReaderScript());
    const before = host.snapshot([HOME, "/etc/systemd/system"]);
    const read = host.must(`sh -c "$(cat /root/reader.sh)" plc-diff ${HOME} ${NAME}`);
    assert.ok(read.startsWith(`${SITE_MARK}\n`), read);
    assert.ok(!read.includes("playlabs-secret") && !read.includes(PLAYLABS.letsencryptEmail), "keys only, no value");
    assert.equal(host.snapshot([HOME, "/etc/systemd/system"]), before, "reading changes nothing");

    const text = formatSiteDiff(parseSite(read), readBundleSide(bundle.tarball, process.cwd()), "ybs-hack on host");
    assert.match(text, /^ybs-hack on host: no plc release is installed; the first plc deploy takes over what runs there:$/m);
    assert.match(text, /^ {2}image +betagouv\/mrs:old -> betagouv\/mrs:new$/m);
    assert.match(text, /^ {2}env keys +\+ALLOWED_HOSTS .*\+VIRTUAL_PORT -LETSENCRYPT_EMAIL -LETSENCRYPT_HOST$/m);
    assert.doesNotMatch(text, /[+-](VIRTUAL_HOST|SECRET_KEY|KEY)\b/, "kept behind nginx-proxy; SECRET_KEY stays");
    assert.match(text, /^ {2}container +--log-driver journald -> json-file \(bounded\); networks ybs-hack -> ybs-hack,bridge; --publish 127\.0\.0\.1:\d+:8000$/m);
    assert.match(text, /^ {2}units +backup-ybs-hack\.service no longer at boot .*-backup-ybs-hack\.prune\.service -backup-ybs-hack\.prune\.timer ~backup-ybs-hack\.service ~backup-ybs-hack\.timer \+prune-ybs-hack\.service \+prune-ybs-hack\.timer$/m);
    assert.match(text, /^ {2}vhost +served by the nginx-proxy container \(VIRTUAL_HOST\); no host vhost$/m);
  });

  it("postgres: adopts the running postgres:10 server, its role and database ybs-hack, keeps its major; a playlabs dump restores", async (t) => {
    if (!requireSandbox(t, "restic") || !requirePostgres(t)) return;
    const host = await SandboxHost.start(t);
    const site = makePlaylabsHost(host, { postgres: true });
    const pg = `${NAME}-postgres`;
    const pgId = host.must(`cat "$PLC_SHIM_STATE/containers/${pg}/id"`);
    const rows = playlabsRows(host);
    host.image(NEW, { user: "1000:1000" });
    // plc's default image is another major: it must not be the one that runs.
    host.image("postgres:17", { version: "17.6" });
    // playlabs' names for the role and database (postgres_user/postgres_db defaults come with the variables issue).
    const names = [`env.DB_NAME=${NAME}`, `env.DB_USER=${NAME}`, `env.DB_PASSWORD=${PLAYLABS.dbPassword}`];
    const out = mustInstall(host, buildBundle(args(...names), { plugins: ["postgres", "django"] }));
    assert.match(out, /keeping ybs-hack-postgres on postgres:10/);
    assert.equal(host.must(`cat "$PLC_SHIM_STATE/containers/${pg}/id"`), pgId, "the same server");
    assert.deepEqual(host.container(pg), { image: PLAYLABS.postgresImage, running: true });
    assert.equal(host.read(`${HOME}/postgres/data/PG_VERSION`).trim(), site.pgMajor);
    assert.equal(playlabsRows(host), rows);
    assert.equal(host.containerEnv(NAME).get("DB_USER"), NAME);
    // The backup before the deploy dumped playlabs' database as its role.
    const plc = snapshots(host).find((s) => s.hostname === NAME);
    assert.ok(plc !== undefined);
    assert.match(host.must(`${RESTIC_ENV} restic ls ${plc.id}`), /\.backup\/postgres\.sql/);

    // playlabs' own dump (pg_dumpall --clean, in the data directory) brings the rows back.
    host.must(`docker exec -i ${pg} psql -X -q --username ${NAME} --dbname ${NAME} -c 'DELETE FROM t WHERE id % 2 = 0'`);
    assert.notEqual(playlabsRows(host), rows);
    const restored = host.must(`${HOME}/restore.sh ${site.snapshot}`);
    assert.match(restored, /was made by playlabs/);
    assert.equal(playlabsRows(host), rows);
    assert.deepEqual(host.container(pg), { image: PLAYLABS.postgresImage, running: true }, "restored on the image that ran");
  });
});
