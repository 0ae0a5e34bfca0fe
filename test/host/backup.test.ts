// backup.sh, restore.sh and prune.sh on a sandbox host with the real restic: round trip, retention,
// one flock for all of them, killed runs, and failures that must not leave a snapshot behind.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { FIXTURES } from "../fixtures.js";
import { seedRepository } from "./restic-repository.js";
import { SandboxHost, buildBundle, mustInstall, requireSandbox } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const V1 = "betagouv/mrs:v1";
const V2 = "betagouv/mrs:v2";
const RESTIC_ENV = `RESTIC_REPOSITORY=${HOME}/restic RESTIC_PASSWORD_FILE=${HOME}/.backup_password`;

function args(image: string, ...extra: string[]): string[] {
  return [`image=${image}`, "prefix=ybs", "instance=hack", "backup_password=pw", "healthcheck_timeout=5", ...extra];
}

interface Snapshot {
  id: string;
  short_id: string;
  time: string;
  hostname: string;
  paths: string[];
  tags?: string[];
}

// The commits the images were built from, as CI sets GIT_COMMIT in them.
const C1 = "0123456789abcdef0123456789abcdef01234567";
const C2 = "fedcba9876543210fedcba9876543210fedcba98";

function snapshots(host: SandboxHost): Snapshot[] {
  return JSON.parse(host.must(`${RESTIC_ENV} restic snapshots --json`)) as Snapshot[];
}

function resticCheck(host: SandboxHost): string {
  return host.must(`${RESTIC_ENV} restic check 2>&1`);
}

/** path, type, mode and sha256 of everything under a directory: what "byte for byte" compares. */
function listing(host: SandboxHost, dir: string): string {
  return host.must(
    `cd ${dir} && find . -printf '%p %y %m %U:%G %l\\n' | sort | while IFS= read -r line; do ` +
      `path=\${line%% *}; if [ -f "$path" ] && [ ! -L "$path" ]; then printf '%s %s\\n' "$line" "$(sha256sum <"$path" | cut -c1-64)"; else printf '%s\\n' "$line"; fi; done`,
  );
}

/** An installed host; its repository is seeded with a fast key unless the test wants restic init. */
async function installed(t: TestContext, extra: string[] = [], options: { init?: boolean } = {}): Promise<SandboxHost> {
  const host = await SandboxHost.start(t);
  host.image(V1, { user: "1000:1000", body: "v1\n", env: `PATH=/usr/bin:/bin\nGIT_COMMIT=${C1}`, log: "v1 listening" });
  host.image(V2, { user: "1000:1000", body: "v2\n", env: `GIT_COMMIT=${C2}`, log: "v2 listening" });
  mustInstall(host, buildBundle(args(V1, ...extra)));
  if (options.init !== true) seedRepository(host, HOME, "pw");
  return host;
}

/** Enough data that restic runs for a while (tmpfs, so it costs memory, not disk). */
function writeBigData(host: SandboxHost, megabytes: number): void {
  host.must(`head -c ${String(megabytes)}M /dev/urandom >${HOME}/log/big.bin`);
}

describe("backup and restore", () => {
  it("round trip: the data comes back byte for byte and the container runs the snapshot's image", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t, [], { init: true });
    host.must(
      `cd ${HOME}/log && head -c 200000 /dev/urandom >binary.bin && printf 'line\\n' >app.log && : >empty.log && ` +
        `mkdir -p 'deep/with space' && printf 'x' >'deep/with space/file name.txt' && printf 'nl' >"$(printf 'new\\nline')" && ` +
        `ln -s app.log link.log && chmod 0640 app.log && chown -R 1000:1000 .`,
    );
    const original = listing(host, `${HOME}/log`);
    assert.match(original, /binary\.bin f 644 1000:1000/);
    const out = host.must(`${HOME}/backup.sh`);
    assert.match(out, /snapshot saved/);
    const [snapshot, ...others] = snapshots(host);
    assert.ok(snapshot !== undefined && others.length === 0);
    assert.equal(snapshot.hostname, NAME, "--host is pinned");
    assert.ok(!host.exists(`${HOME}/.backup`), "the staging directory is cleaned up");

    // A new release and new data, then the old snapshot comes back.
    mustInstall(host, buildBundle(args(V2)));
    host.must(`rm -rf ${HOME}/log/* && printf 'garbage\\n' >${HOME}/log/new.log`);
    const listed = host.must(`${HOME}/restore.sh`);
    assert.match(listed, new RegExp(snapshot.short_id));
    assert.equal(snapshots(host).length, 2, "the upgrade backed up too");
    const restored = host.must(`${HOME}/restore.sh ${snapshot.id}`);
    assert.match(restored, new RegExp(`restored snapshot ${snapshot.id} \\(${V1.replace(/[.:/]/g, "\\$&")}\\)`));
    assert.equal(listing(host, `${HOME}/log`), original);
    assert.equal(host.read(`${HOME}/docker-image`), `${V1}\n`);
    assert.deepEqual(host.container(NAME), { image: V1, running: true });
    assert.ok(!host.exists(`${HOME}/.restore`), "the restore directory is cleaned up");

    // A snapshot id is checked before use.
    const bad = host.sh(`${HOME}/restore.sh 'latest; rm -rf /'`);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /is not a snapshot id/);
    assert.equal(listing(host, `${HOME}/log`), original);
  });
});

describe("what a snapshot records (playlabs: the image, its GIT_COMMIT, docker logs)", () => {
  const tagged = (host: SandboxHost, tag: string): Snapshot[] => JSON.parse(host.must(`${RESTIC_ENV} restic snapshots --json --tag ${tag}`)) as Snapshot[];
  const dockerLog = (host: SandboxHost, id: string): string => host.must(`${RESTIC_ENV} restic dump ${id} ${HOME}/.backup/docker.log`);

  it("tags plc, the image that runs and its commit; holds the container's output; the snapshot before a deploy is found by the replaced release's commit", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t);
    // The container can write log/: a link it plants there must not be where root writes.
    host.must(`ln -s /root/planted ${HOME}/log/docker.log && chown -h 1000:1000 ${HOME}/log/docker.log`);
    const out = host.sh(`${HOME}/backup.sh`);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, new RegExp(`backing up betagouv/mrs:v1 \\(commit ${C1}\\)`));
    assert.equal(out.stderr, "", "nothing to note");
    const [first] = snapshots(host);
    assert.ok(first !== undefined);
    assert.deepEqual(first.tags?.sort(), [C1, V1, "plc"].sort());
    assert.match(dockerLog(host, first.id), /^v1 listening$/m);
    assert.ok(!host.exists("/root/planted"), "root wrote through a link in log/");
    assert.equal(host.must(`readlink ${HOME}/log/docker.log`), "/root/planted\n");

    // The upgrade's backup runs before the v1 container goes: its commit finds that snapshot, with v1's output.
    host.must(`rm ${HOME}/log/docker.log`);
    mustInstall(host, buildBundle(args(V2)));
    const v1 = tagged(host, C1);
    assert.equal(v1.length, 2, "the timer's snapshot and the one before the deploy");
    const beforeDeploy = v1.find((snapshot) => snapshot.id !== first.id);
    assert.ok(beforeDeploy !== undefined);
    assert.deepEqual(beforeDeploy.tags?.sort(), [C1, V1, "plc"].sort());
    assert.match(dockerLog(host, beforeDeploy.id), /^v1 listening$/m);
    assert.doesNotMatch(host.must(`docker logs ${NAME}`), /v1 listening/, "the v1 container is gone");
    assert.deepEqual(tagged(host, C2), []);

    host.must(`${HOME}/backup.sh`);
    const [v2] = tagged(host, C2);
    assert.ok(v2 !== undefined);
    assert.deepEqual(v2.tags?.sort(), [C2, V2, "plc"].sort());
    assert.match(dockerLog(host, v2.id), /^v2 listening$/m);
    assert.doesNotMatch(dockerLog(host, v2.id), /v1 listening/);
    // restore.sh and prune.sh still take every snapshot of the instance, whatever its tags.
    assert.equal(host.must(`${HOME}/restore.sh`).split("\n").filter((line) => /^[0-9a-f]{8} /.test(line)).length, 3);
  });

  it("the commit is the running image's, even when its tag was pulled again and names another image since", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t);
    host.image(V1, { env: `GIT_COMMIT=${C2}` });
    host.must(`docker pull ${V1}`);
    host.must(`${HOME}/backup.sh`);
    const [snapshot] = snapshots(host);
    assert.deepEqual(snapshot?.tags?.sort(), [C1, V1, "plc"].sort());
  });

  it("a value restic would split or read as an option is no tag (noted on stderr); no container is a note, not a failure", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t);
    const notCommits = ["abc,plc", "--host=evil", "ABCDEF1", "abc", "a".repeat(65)];
    for (const [index, commit] of notCommits.entries()) {
      host.image(V1, { env: `GIT_COMMIT=${commit}` });
      host.must(`docker pull ${V1}`);
      host.must(`docker rm -f ${NAME} && ${HOME}/docker-run.sh`);
      const out = host.sh(`${HOME}/backup.sh`);
      assert.equal(out.status, 0, out.stderr);
      assert.match(out.stderr, /note: the GIT_COMMIT of betagouv\/mrs:v1 is not a commit hash .*: the snapshot is not tagged with it/, commit);
      assert.equal(snapshots(host).length, index + 1);
      assert.deepEqual(snapshots(host)[index]?.tags?.sort(), [V1, "plc"].sort(), commit);
    }

    // No container (removed by hand), docker-image edited by hand into two tags.
    host.must(`docker rm -f ${NAME} && printf 'betagouv/mrs:v1,evil\n' >${HOME}/docker-image`);
    const out = host.sh(`${HOME}/backup.sh`);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stderr, /note: the image reference of ybs-hack holds characters no image reference has: the snapshot is not tagged with it/);
    assert.match(out.stderr, /note: there is no container ybs-hack: the snapshot holds no container output/);
    const last = snapshots(host).pop();
    assert.ok(last !== undefined);
    assert.deepEqual(last.tags, ["plc"]);
    assert.equal(dockerLog(host, last.id), "");
  });

  it("a stopped container's output up to its stop is kept; the log is bounded to its last 50000 lines", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t);
    host.must(`seq 1 60000 >>"$PLC_SHIM_STATE/containers/${NAME}/log" && docker stop ${NAME}`);
    const out = host.sh(`${HOME}/backup.sh`);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stderr, /note: ybs-hack is not running: the snapshot holds its output up to its stop/);
    const [snapshot] = snapshots(host);
    assert.ok(snapshot !== undefined);
    const lines = dockerLog(host, snapshot.id).split("\n").filter((line) => line !== "");
    assert.equal(lines.length, 50000);
    assert.equal(lines[0], "10002");
    assert.equal(lines.at(-1), "shim: stopped");

    // One line of 40 MiB (no newline to cut at): its last 32 MiB.
    host.must(`head -c 41943040 /dev/zero | tr '\\0' x >>"$PLC_SHIM_STATE/containers/${NAME}/log" && printf 'end\\n' >>"$PLC_SHIM_STATE/containers/${NAME}/log"`);
    host.must(`${HOME}/backup.sh 2>/dev/null`);
    const last = snapshots(host).pop();
    assert.ok(last !== undefined);
    assert.equal(host.must(`${RESTIC_ENV} restic dump ${last.id} ${HOME}/.backup/docker.log | wc -c`).trim(), "33554432");
    assert.equal(host.must(`${RESTIC_ENV} restic dump ${last.id} ${HOME}/.backup/docker.log | tail -c 8`), "xxxxend\n");
  });
});

describe("a restore that fails midway", () => {
  it("keeps the data it set aside, and the next restore refuses to remove it", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t);
    host.must(`printf 'in the snapshot\\n' >${HOME}/log/app.log`);
    host.must(`${HOME}/backup.sh`);
    const [snapshot] = snapshots(host);
    assert.ok(snapshot !== undefined);
    host.must(`printf 'newer than the snapshot\\n' >${HOME}/log/app.log`);
    // The snapshot's image cannot be pulled any more: restore.sh stops after setting data aside.
    host.must(`rm -f ${host.state}/images/*`);
    host.image(V1, { user: "1000:1000", pull: "fail" });
    const failed = host.sh(`${HOME}/restore.sh ${snapshot.id}`);
    assert.notEqual(failed.status, 0);
    assert.match(failed.stderr, /previous data is in \/home\/ybs-hack\/\.restore\/previous/);
    assert.equal(host.read(`${HOME}/.restore/previous/log/app.log`), "newer than the snapshot\n");

    const again = host.sh(`${HOME}/restore.sh ${snapshot.id}`);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /an earlier restore did not finish/);
    assert.equal(host.read(`${HOME}/.restore/previous/log/app.log`), "newer than the snapshot\n", "the set-aside data survives");
  });
});

describe("prune.sh", () => {
  it("refuses to prune a repository with no snapshot", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t);
    host.must(`mv ${HOME}/restic ${HOME}/restic.aside`);
    const none = host.sh(`${HOME}/prune.sh`);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no restic repository/);
    host.must(`mv ${HOME}/restic.aside ${HOME}/restic`);
    const empty = host.sh(`${HOME}/prune.sh`);
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /holds no snapshot of ybs-hack; refusing to prune/);
    // Snapshots of other data do not count: retention is pinned to this instance's (those holding
    // its docker-image, whatever their host name: playlabs' carry the machine's, see takeover.test.ts).
    host.must(`echo other | ${RESTIC_ENV} restic backup --quiet --host other --stdin`);
    assert.equal(host.sh(`${HOME}/prune.sh`).status, 1);
    assert.equal(snapshots(host).length, 1);
  });

  // Snapshots at fixed dates: retention counts from the snapshots, not from today.
  const DATES = [
    "2020-01-10 12:00:00", // s1: last, daily, weekly (2020-W02), monthly, yearly
    "2020-01-10 11:00:00", // s2: only "last" would keep it
    "2020-01-09 12:00:00", // s3: second day
    "2020-01-03 12:00:00", // s4: 2020-W01
    "2019-12-01 12:00:00", // s5: December, 2019
    "2018-06-01 12:00:00", // s6: 2018
    "2018-05-01 12:00:00", // s7: older in 2018
  ];
  function addSnapshots(host: SandboxHost, dates: string[]): void {
    host.must(
      dates.map((date) => `${RESTIC_ENV} restic backup --quiet --host ${NAME} --tag plc --time '${date}' ${HOME}/docker-image >/dev/null`).join(" && "),
    );
  }
  const kept = (host: SandboxHost) => snapshots(host).map((snapshot) => snapshot.time.slice(0, 19).replace("T", " ")).sort().reverse();

  it("applies the default retention (7 last, 7 daily, 5 weekly, 12 monthly, 75 yearly) and checks", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t);
    const days = ["01", "02", "03", "04", "05", "06", "07", "08", "09"].map((day) => `2020-01-${day} 12:00:00`);
    addSnapshots(host, days);
    const out = host.must(`${HOME}/prune.sh 2>&1`);
    assert.match(out, /checking the repository/);
    // Nine days: the last 7 (and 7 daily) stay; weekly, monthly, yearly pick among those.
    assert.deepEqual(kept(host), days.slice(2).reverse());
    assert.match(resticCheck(host), /no errors were found/);
  });

  it("applies an overridden retention", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t, ["retention.last=1", "retention.daily=2", "retention.weekly=2", "retention.monthly=1", "retention.yearly=2"]);
    addSnapshots(host, DATES);
    host.must(`${HOME}/prune.sh`);
    // last 1: s1; daily 2: s1 s3; weekly 2: s1 s4; monthly 1: s1; yearly 2: s1 s5.
    assert.deepEqual(kept(host), [DATES[0], DATES[2], DATES[3], DATES[4]]);
    assert.match(resticCheck(host), /no errors were found/);
  });

  it("one policy for all of the instance's snapshots, whatever paths each holds (docker.log, a plugin added since)", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t, ["retention.last=1", "retention.daily=1", "retention.weekly=1", "retention.monthly=1", "retention.yearly=1"]);
    // Older backup.sh snapshots held docker-image and log/; today's hold .backup/docker.log too (same week).
    host.must(`${RESTIC_ENV} restic backup --quiet --host ${NAME} --tag plc --time '2020-01-09 12:00:00' ${HOME}/docker-image ${HOME}/log >/dev/null`);
    host.must(`mkdir -p ${HOME}/.backup && : >${HOME}/.backup/docker.log && ${RESTIC_ENV} restic backup --quiet --host ${NAME} --tag plc --time '2020-01-10 12:00:00' ${HOME}/docker-image ${HOME}/log ${HOME}/.backup/docker.log >/dev/null && rm -rf ${HOME}/.backup`);
    host.must(`${HOME}/prune.sh`);
    assert.deepEqual(kept(host), ["2020-01-10 12:00:00"]);
  });
});

describe("one flock serialises backup, prune and restore", () => {
  it("two backups at once, and a prune firing during a backup, all succeed in turn", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t);
    host.must(`${HOME}/backup.sh`);
    writeBigData(host, 120);
    const first = host.spawn(`${HOME}/backup.sh`);
    // Wait until the first backup's restic holds its repository lock, then start the others.
    host.must(`i=0; until [ -n "$(ls ${HOME}/restic/locks)" ]; do i=$((i + 1)); [ $i -lt 400 ] || exit 1; sleep 0.02; done`);
    // The lock is held: without waiting, another run says so instead of meeting restic's lock.
    const busy = host.sh(`PLC_LOCK_WAIT=0 ${HOME}/prune.sh`);
    assert.equal(busy.status, 1);
    assert.match(busy.stderr, /another backup, prune or restore of ybs-hack still runs/);
    const second = host.spawn(`${HOME}/backup.sh`);
    const prune = host.spawn(`${HOME}/prune.sh`);
    const results = await Promise.all([first.done, second.done, prune.done]);
    for (const result of results) {
      assert.equal(result.status, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /locked|lock/i);
    }
    assert.equal(snapshots(host).length, 3);
    assert.match(resticCheck(host), /no errors were found/);
  });
});

describe("a backup killed midway", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal}: no partial snapshot, the next run clears the stale lock and succeeds, check is clean`, async (t) => {
      if (!requireSandbox(t, "restic")) return;
      const host = await installed(t);
      writeBigData(host, 150);
      // Through the unit, as the timer runs it; systemctl stop/kill signal the whole group.
      host.must("systemctl start --no-block backup-ybs-hack.service");
      // Midway: restic runs, holds its lock and has written packs, but no snapshot yet.
      host.must(
        `i=0; until pgrep -x restic >/dev/null && [ -n "$(ls ${HOME}/restic/locks)" ] && [ -n "$(find ${HOME}/restic/data -type f)" ]; do ` +
          `i=$((i + 1)); [ $i -lt 500 ] || exit 1; sleep 0.02; done`,
      );
      assert.equal(snapshots(host).length, 0);
      if (signal === "SIGINT") {
        host.must("systemctl stop backup-ybs-hack.service"); // KillSignal=SIGINT
      } else {
        host.must("systemctl kill --signal=SIGTERM backup-ybs-hack.service");
      }
      host.must(`i=0; until [ -f $PLC_SHIM_STATE/systemd/runs/backup-ybs-hack.service.status ]; do i=$((i + 1)); [ $i -lt 500 ] || exit 1; sleep 0.02; done`);
      const status = readFileSync(join(host.state, "systemd", "runs", "backup-ybs-hack.service.status"), "utf8").trim();
      assert.notEqual(status, "0", "the killed backup failed");
      assert.equal(snapshots(host).length, 0, "no partial snapshot");
      assert.equal(host.sh("pgrep -x restic").stdout, "", "no restic left running");
      assert.ok(!host.exists(`${HOME}/.backup`));

      const again = host.sh(`${HOME}/backup.sh`);
      assert.equal(again.status, 0, again.stderr);
      assert.equal(host.must(`ls ${HOME}/restic/locks`), "", "no lock left behind");
      assert.equal(snapshots(host).length, 1);
      assert.match(resticCheck(host), /no errors were found/);
    });
  }
});

describe("a backup that cannot be complete", () => {
  it("a missing backup path: non-zero, no snapshot", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t);
    host.must(`rm -rf ${HOME}/log`);
    const result = host.sh(`${HOME}/backup.sh`);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /backup path \/home\/ybs-hack\/log is missing; no snapshot was made/);
    assert.equal(snapshots(host).length, 0);
  });

  it("an unreadable backup path or file (restic exit 3): non-zero, no snapshot kept", async (t) => {
    if (!requireSandbox(t, "restic")) return;
    const host = await installed(t);
    // Root reads everything; without CAP_DAC_* it reads like anyone else (an NFS root_squash mount).
    const noDac = "setpriv --inh-caps=-dac_override,-dac_read_search --bounding-set=-dac_override,-dac_read_search";
    host.must(`printf 'secret\\n' >${HOME}/log/locked.log && chmod 0000 ${HOME}/log/locked.log`);
    const file = host.sh(`${noDac} ${HOME}/backup.sh`);
    assert.equal(file.status, 1, file.stdout);
    assert.match(file.stderr, /some files could not be read; the incomplete snapshot was removed/);
    assert.equal(snapshots(host).length, 0);

    host.must(`rm -f ${HOME}/log/locked.log && chmod 0000 ${HOME}/log`);
    const dir = host.sh(`${noDac} ${HOME}/backup.sh`);
    assert.equal(dir.status, 1, dir.stdout);
    assert.match(dir.stderr, /backup path \/home\/ybs-hack\/log is unreadable; no snapshot was made/);
    assert.equal(snapshots(host).length, 0);
    assert.match(resticCheck(host), /no errors were found/);
  });
});

describe("plugin hooks", () => {
  it("a hook stops at its first failing command under dash and under bash as sh, and the backup fails naming it", async (t) => {
    if (!requireSandbox(t, "restic", "bash")) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { user: "1000:1000", body: "v1\n" });
    const plugins = join(FIXTURES, "plugins-failing-hook");
    mustInstall(host, buildBundle(args(V1, "--plugins-dir", plugins, "-p", "half-done")));
    seedRepository(host, HOME, "pw");
    // POSIX turns errexit off left of ||: `(. hook) || die` would let the hook go on under bash.
    for (const shell of ["dash", "bash --posix"]) {
      const result = host.sh(`${shell} ${HOME}/backup.sh`);
      assert.notEqual(result.status, 0, shell);
      assert.match(result.stderr, /backup\.pre of half-done failed; no snapshot was made/, shell);
      assert.equal(host.sh(`test -e ${HOME}/hook-went-on`).status, 1, `${shell}: the hook went on`);
      assert.deepEqual(snapshots(host), [], shell);
    }
  });
});
