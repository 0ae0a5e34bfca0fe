// The lftp mirror of the restic repository to a loopback SFTP server: the system's sshd started
// inside the sandbox (its own port, host key and user), password authentication over lftp's pty.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seedRepository } from "./restic-repository.js";
import { SandboxHost, buildBundle, mustInstall, q, requireSandbox } from "./sandbox.js";
import { MIRROR, SFTP_PASSWORD as PASSWORD, SFTP_TOOLS as TOOLS, playlabsMirror, sftpDsn as dsn, startSftp } from "./sftp.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const IMAGE = "betagouv/mrs:v1";
const REMOTE = `${MIRROR}/${NAME}/restic`;
const LOCAL_ENV = `RESTIC_REPOSITORY=${HOME}/restic RESTIC_PASSWORD_FILE=${HOME}/.backup_password`;
const REMOTE_ENV = `RESTIC_REPOSITORY=${REMOTE} RESTIC_PASSWORD_FILE=${HOME}/.backup_password`;

/** Installs instance ybs-<instance> mirroring to the DSN path; its repository is seeded unless seed is false. */
function installInstance(host: SandboxHost, instance: string, options: { path?: string; seed?: boolean; extra?: string[] } = {}): void {
  const args = [`image=${IMAGE}`, "prefix=ybs", `instance=${instance}`, "backup_password=pw", `lftp_dsn=${dsn(options.path)}`];
  mustInstall(host, buildBundle([...args, ...(options.extra ?? [])]));
  if (options.seed !== false) seedRepository(host, `/home/ybs-${instance}`, "pw");
}

async function mirroredHost(t: Parameters<typeof SandboxHost.start>[0], options: { path?: string; seed?: boolean } = {}): Promise<SandboxHost> {
  const host = await SandboxHost.start(t);
  startSftp(host);
  installInstance(host, "hack", options);
  return host;
}

/** A restic repository made outside plc (fast key, password pw) at <dir>/restic, with one snapshot of paths. */
function foreignRepository(host: SandboxHost, dir: string, hostname: string, paths: string): void {
  host.must(`mkdir -p ${dir} && printf pw >${dir}/password`);
  seedRepository(host, dir, "pw");
  host.must(`RESTIC_REPOSITORY=${dir}/restic RESTIC_PASSWORD_FILE=${dir}/password restic backup --quiet --host ${hostname} ${paths} >/dev/null`);
}

function snapshotIds(host: SandboxHost, env: string): string[] {
  return (JSON.parse(host.must(`${env} restic snapshots --json`)) as { id: string }[]).map((s) => s.id).sort();
}

describe("lftp mirror", () => {
  it("mirrors without locks/, keeps the password out of every argv, and restore fetches a lost repository back", async (t) => {
    if (!requireSandbox(t, ...TOOLS)) return;
    const host = await mirroredHost(t);
    host.must(`printf 'precious\\n' >${HOME}/log/app.log`);
    // A live lock of another host's restic (a second client of the repository) is there while we mirror.
    const other = host.spawn(
      `{ echo other data; while [ ! -f ${host.dir}/tmp/stop-other ]; do sleep 0.1; done; } | unshare --uts sh -c 'hostname other-host && ${LOCAL_ENV} restic backup --quiet --stdin --host other-host >/dev/null'`,
    );
    host.must(`i=0; until [ -n "$(ls ${HOME}/restic/locks)" ]; do i=$((i + 1)); [ $i -lt 300 ] || exit 1; sleep 0.05; done`);

    // Every process's argv, sampled while backup.sh and its mirror run.
    const samples = `${host.dir}/tmp/argv-samples`;
    const run = host.must(
      `( while [ ! -f ${host.dir}/tmp/stop ]; do for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' <"$f" 2>/dev/null; echo; done; done >${q(samples)} ) &
      ${HOME}/backup.sh; status=$?; : >${host.dir}/tmp/stop; wait; exit $status`,
    );
    assert.match(run, /mirroring the repository/);
    const argv = host.must(`cat ${q(samples)}`);
    assert.match(argv, /\blftp -c /, "the sampler saw lftp running");
    assert.match(argv, /\bssh .*127\.0\.0\.1/, "and its ssh");
    for (const part of [PASSWORD, "p'a;ss", encodeURIComponent(PASSWORD)]) assert.ok(!argv.includes(part), `argv holds ${part}`);

    assert.ok(host.exists(`${HOME}/restic/locks`) && host.must(`ls ${HOME}/restic/locks`) !== "", "a live lock was there");
    assert.ok(!host.exists(`${REMOTE}/locks`), "locks/ is not mirrored");
    assert.equal(host.must(`stat -c %U ${REMOTE}/config`).trim(), "mirror");
    // Only now may the other client finish (and drop its lock): the checks above needed it live.
    host.must(`: >${host.dir}/tmp/stop-other`);
    const otherResult = await other.done;
    assert.equal(otherResult.status, 0, otherResult.stderr);
    assert.match(host.must(`${REMOTE_ENV} restic check 2>&1`), /no errors were found/);
    assert.deepEqual(snapshotIds(host, REMOTE_ENV), snapshotIds(host, LOCAL_ENV).filter((id) => snapshotIds(host, REMOTE_ENV).includes(id)));
    const ours = host.must(`${REMOTE_ENV} restic snapshots --json --host ${NAME}`);
    assert.equal((JSON.parse(ours) as unknown[]).length, 1);

    // The local repository is lost: restore.sh fetches it back through lftp, then restores.
    host.must(`rm -rf ${HOME}/restic && printf 'damaged\\n' >${HOME}/log/app.log`);
    const listed = host.must(`${HOME}/restore.sh`);
    assert.match(listed, /fetching the repository from the mirror/);
    const id = /^([0-9a-f]{8}) .*ybs-hack/m.exec(listed)?.[1];
    assert.ok(id !== undefined, listed);
    host.must(`${HOME}/restore.sh ${id}`);
    assert.equal(host.read(`${HOME}/log/app.log`), "precious\n");
    assert.match(host.must(`${LOCAL_ENV} restic check 2>&1`), /no errors were found/);
  });

  it("an interrupted mirror fails backup.sh, and the rerun leaves a remote that passes restic check", async (t) => {
    if (!requireSandbox(t, ...TOOLS)) return;
    const host = await mirroredHost(t);
    host.must(`${HOME}/backup.sh`);
    const first = snapshotIds(host, REMOTE_ENV);
    assert.equal(first.length, 1);

    host.must(`head -c 80M /dev/urandom >${HOME}/log/big.bin`);
    // Cut lftp once it has started to upload the new packs.
    const cut = host.must(
      `${HOME}/backup.sh >${host.dir}/tmp/backup.out 2>&1 & backup=$!
      before=$(find ${REMOTE}/data -type f | wc -l)
      i=0; until [ "$(find ${REMOTE}/data -type f | wc -l)" -gt "$before" ]; do i=$((i + 1)); [ $i -lt 6000 ] || exit 9; sleep 0.02; done
      kill $(pgrep -x lftp); wait $backup; printf '%s' $?; cat ${host.dir}/tmp/backup.out`,
    );
    assert.match(cut, /^1/, cut);
    assert.match(cut, /lftp mirror failed; the local repository is intact, rerun backup\.sh/);
    assert.equal(snapshotIds(host, LOCAL_ENV).length, 2, "the snapshot itself was saved locally");
    // Data went first and snapshots last: the cut remote still holds only complete snapshots.
    assert.deepEqual(snapshotIds(host, REMOTE_ENV), first);

    host.must(`${HOME}/backup.sh`);
    // (restic commands on the remote copy above made an empty locks/ there; the mirror never fills it.)
    assert.equal(host.must(`find ${REMOTE}/locks -type f`), "");
    assert.match(host.must(`${REMOTE_ENV} restic check --read-data 2>&1`), /no errors were found/);
    assert.deepEqual(snapshotIds(host, REMOTE_ENV), snapshotIds(host, LOCAL_ENV));
  });
  it("two instances share a DSN: each keeps to <path>/<name>/restic, and a playlabs mirror and other files survive byte for byte", async (t) => {
    if (!requireSandbox(t, ...TOOLS)) return;
    const host = await SandboxHost.start(t);
    startSftp(host);
    // What was there before plc: playlabs' mirror of ybs-staging, and files of someone else at the DSN root.
    foreignRepository(host, "/root/staging", "ybs-staging", "/etc/hostname");
    playlabsMirror(host, "/root/staging/restic", "ybs-staging");
    host.must(`printf 'keep me\\n' >${MIRROR}/README && mkdir ${MIRROR}/other && printf x >${MIRROR}/other/file && chown -R mirror ${MIRROR}`);
    const others = [`${MIRROR}/ybs-staging`, `${MIRROR}/README`, `${MIRROR}/other`];
    const before = host.snapshot(others);
    assert.match(before, /ybs-staging\/restic\/config f/);

    // Retention "1 of each": a prune forgets all but the newest snapshot.
    const retention = ["last", "daily", "weekly", "monthly", "yearly"].map((kind) => `retention.${kind}=1`);
    installInstance(host, "hack", { extra: retention });
    installInstance(host, "prod", { extra: retention });
    const prodEnv = (root: string) => `RESTIC_REPOSITORY=${root} RESTIC_PASSWORD_FILE=/home/ybs-prod/.backup_password`;
    host.must(`${HOME}/backup.sh && ${HOME}/backup.sh && /home/ybs-prod/backup.sh && /home/ybs-prod/backup.sh`);
    const forgotten = snapshotIds(host, REMOTE_ENV);
    assert.equal(forgotten.length, 2);
    host.must(`${HOME}/prune.sh && /home/ybs-prod/prune.sh && ${HOME}/backup.sh`);

    assert.equal(host.snapshot(others), before, "nothing outside the instances' own folders changed");
    assert.deepEqual(host.must(`ls ${MIRROR}`).split("\n").filter(Boolean), ["README", "other", "ybs-hack", "ybs-prod", "ybs-staging"]);
    for (const [local, remote] of [[LOCAL_ENV, REMOTE_ENV], [prodEnv("/home/ybs-prod/restic"), prodEnv(`${MIRROR}/ybs-prod/restic`)]] as const) {
      assert.deepEqual(snapshotIds(host, remote), snapshotIds(host, local));
      assert.match(host.must(`${remote} restic check --read-data 2>&1`), /no errors were found/);
    }
    // The prune removed on the mirror what it forgot locally, and nothing else.
    const hack = snapshotIds(host, REMOTE_ENV);
    assert.equal(hack.length, 2);
    assert.equal(hack.filter((id) => forgotten.includes(id)).length, 1);
    assert.equal(snapshotIds(host, prodEnv(`${MIRROR}/ybs-prod/restic`)).length, 1);
  });

  it("a lost local repository: backup.sh fetches the mirror first and the mirror keeps every old snapshot", async (t) => {
    if (!requireSandbox(t, ...TOOLS)) return;
    const host = await mirroredHost(t);
    host.must(`${HOME}/backup.sh && ${HOME}/backup.sh`);
    const old = snapshotIds(host, REMOTE_ENV);
    assert.equal(old.length, 2);

    // A lost disk or a rebuilt host; then the nightly timer fires.
    host.must(`rm -rf ${HOME}/restic`);
    host.must(`systemctl start backup-${NAME}.service`);
    const now = snapshotIds(host, REMOTE_ENV);
    assert.equal(now.length, 3, "the old snapshots plus the new one");
    assert.deepEqual(now.filter((id) => old.includes(id)), old);
    assert.deepEqual(snapshotIds(host, LOCAL_ENV), now);
    assert.match(host.must(`${REMOTE_ENV} restic check --read-data 2>&1`), /no errors were found/);

    // The mirror unreachable: no new repository (it would start a history of its own), a failure that says so.
    // (lftp retries 3 times; the host's private ~/.lftprc only shortens its 30 s pauses.)
    host.must(`printf 'set net:reconnect-interval-base 1\\nset net:reconnect-interval-max 1\\n' >/root/.lftprc`);
    host.must(`kill $(cat ${host.dir}/sshd/sshd.pid) && rm -rf ${HOME}/restic`);
    const mirrored = host.snapshot([REMOTE]);
    const down = host.sh(`${HOME}/backup.sh`);
    assert.equal(down.status, 1, down.stdout);
    assert.match(down.stderr, /cannot reach the mirror sftp:\/\/mirror@127\.0\.0\.1:2222\/srv\/mirror\/ybs-hack\/restic/);
    assert.ok(!host.exists(`${HOME}/restic/config`), "no restic init");
    assert.equal(host.snapshot([REMOTE]), mirrored);
  });

  it("no local repository and a mirror folder with files but no restic config: backup.sh creates nothing and says so", async (t) => {
    if (!requireSandbox(t, ...TOOLS)) return;
    const host = await mirroredHost(t, { seed: false });
    // What a first mirror cut before its config leaves (data first, config last), of a repository now lost.
    host.must(`mkdir -p ${REMOTE}/data/00 && printf x >${REMOTE}/data/00/pack && chown -R mirror ${MIRROR}`);
    const mirrored = host.snapshot([MIRROR]);
    const refused = host.sh(`${HOME}/backup.sh`);
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stderr, /the mirror sftp:\/\/\S+ holds files but no restic config; nothing was created/);
    assert.ok(!host.exists(`${HOME}/restic/config`), "no restic init");
    assert.equal(host.snapshot([MIRROR]), mirrored);
  });

  it("a local repository of another id is never pushed over the mirror: backup.sh and prune.sh name both ids", async (t) => {
    if (!requireSandbox(t, ...TOOLS)) return;
    const host = await mirroredHost(t);
    host.must(`${HOME}/backup.sh`);
    const remoteId = JSON.parse(host.must(`${REMOTE_ENV} restic cat config`)) as { id: string };
    const mirrored = host.snapshot([REMOTE]);
    // Someone ran restic init by hand (the password is the same; the repository is not).
    host.must(`rm -rf ${HOME}/restic && ${LOCAL_ENV} restic init --quiet`);
    const localId = JSON.parse(host.must(`${LOCAL_ENV} restic cat config`)) as { id: string };
    assert.notEqual(localId.id, remoteId.id);
    for (const script of ["backup.sh", "prune.sh"]) {
      const refused = host.sh(`${HOME}/${script}`);
      assert.equal(refused.status, 1, `${script}: ${refused.stdout}`);
      assert.ok(refused.stderr.includes(`holds repository ${remoteId.id}, the local one is ${localId.id}: refusing to push over it`), refused.stderr);
    }
    assert.equal(host.snapshot([REMOTE]), mirrored);
  });

  it("a DSN without a path mirrors to <name>/restic in the login directory; restore.sh fetches it from there", async (t) => {
    if (!requireSandbox(t, ...TOOLS)) return;
    // No seeded repository: the first backup finds no folder on the mirror and runs restic init.
    const host = await mirroredHost(t, { path: "", seed: false });
    host.must(`printf 'keep me\\n' >${MIRROR}/README && chown mirror ${MIRROR}/README`);
    const first = host.must(`printf 'precious\\n' >${HOME}/log/app.log && ${HOME}/backup.sh && ${HOME}/prune.sh`);
    assert.match(first, /creating the restic repository/);
    // The mirror user's login directory is /srv/mirror.
    assert.deepEqual(snapshotIds(host, REMOTE_ENV), snapshotIds(host, LOCAL_ENV));
    assert.equal(host.read(`${MIRROR}/README`), "keep me\n");
    assert.deepEqual(host.must(`ls ${MIRROR}`).split("\n").filter(Boolean), ["README", NAME]);

    host.must(`rm -rf ${HOME}/restic && printf 'damaged\\n' >${HOME}/log/app.log`);
    const listed = host.must(`${HOME}/restore.sh`);
    assert.match(listed, /fetching the repository from the mirror sftp:\/\/mirror@127\.0\.0\.1:2222\/~\/ybs-hack\/restic/);
    host.must(`${HOME}/restore.sh latest`);
    assert.equal(host.read(`${HOME}/log/app.log`), "precious\n");
  });

  it("restore.sh finds a mirror playlabs made (<dsn>/<name>/restic) when the local repository is gone", async (t) => {
    if (!requireSandbox(t, ...TOOLS)) return;
    const host = await mirroredHost(t, { seed: false });
    host.must(`printf 'from playlabs\\n' >${HOME}/log/app.log`);
    foreignRepository(host, "/root/playlabs", NAME, `${HOME}/docker-image ${HOME}/log`);
    playlabsMirror(host, "/root/playlabs/restic", NAME);
    host.must(`printf 'damaged\\n' >${HOME}/log/app.log`);
    assert.ok(!host.exists(`${HOME}/restic`));

    const listed = host.must(`${HOME}/restore.sh`);
    assert.match(listed, /fetching the repository from the mirror/);
    const id = /^([0-9a-f]{8}) .*ybs-hack/m.exec(listed)?.[1];
    assert.ok(id !== undefined, listed);
    host.must(`${HOME}/restore.sh ${id}`);
    assert.equal(host.read(`${HOME}/log/app.log`), "from playlabs\n");
    // And the next backup adds to that history instead of replacing it.
    host.must(`${HOME}/backup.sh`);
    assert.equal(snapshotIds(host, REMOTE_ENV).length, 2);
  });
  it("the mirror keeps snapshots the local repository lacks: backup.sh never deletes, prune.sh fetches them back first", async (t) => {
    if (!requireSandbox(t, ...TOOLS)) return;
    const host = await mirroredHost(t);
    host.must(`${HOME}/backup.sh && ${HOME}/backup.sh`);
    const [gone, kept] = snapshotIds(host, REMOTE_ENV);
    assert.ok(gone !== undefined && kept !== undefined);
    // The local repository lost a snapshot the mirror holds (a prune whose mirroring was cut, an old disk image).
    host.must(`${LOCAL_ENV} restic forget --quiet --prune ${gone} >/dev/null`);
    host.must(`${HOME}/backup.sh`);
    const remote = snapshotIds(host, REMOTE_ENV);
    assert.equal(remote.length, 3);
    assert.ok(remote.includes(gone), "backup.sh deleted nothing on the mirror");
    assert.match(host.must(`${REMOTE_ENV} restic check --read-data 2>&1`), /no errors were found/);

    // The default retention keeps all three: prune.sh brings the lost one back and deletes nothing.
    const pruned = host.must(`${HOME}/prune.sh`);
    assert.match(pruned, new RegExp(`fetching the snapshots only the mirror holds: ${gone}`));
    assert.deepEqual(snapshotIds(host, LOCAL_ENV), remote);
    assert.deepEqual(snapshotIds(host, REMOTE_ENV), remote);
    assert.match(host.must(`${LOCAL_ENV} restic check --read-data 2>&1`), /no errors were found/);

    // Without the mirror, prune.sh cannot know what only the mirror holds: it prunes nothing.
    host.must(`printf 'set net:reconnect-interval-base 1\\nset net:reconnect-interval-max 1\\n' >/root/.lftprc`);
    host.must(`kill $(cat ${host.dir}/sshd/sshd.pid)`);
    const down = host.sh(`${HOME}/prune.sh`);
    assert.equal(down.status, 1, down.stdout);
    assert.match(down.stderr, /cannot reach the mirror/);
    assert.doesNotMatch(down.stdout, /forgetting/);
    assert.deepEqual(snapshotIds(host, LOCAL_ENV), remote);
  });
});
