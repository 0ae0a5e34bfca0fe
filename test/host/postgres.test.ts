// Backup and restore with the postgres and django plugins: the postgres "container" is a real
// PostgreSQL from Debian run by the docker shim on the directories the plugin mounts, so
// pg_dumpall and psql move real rows.
import assert from "node:assert/strict";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { seedRepository } from "./restic-repository.js";
import { SandboxHost, buildBundle, install, mustInstall, q, requireSandbox, type RunResult } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const PG = `${NAME}-postgres`;
const V1 = "betagouv/mrs:v1";
const V2 = "betagouv/mrs:v2";
const RESTIC_ENV = `RESTIC_REPOSITORY=${HOME}/restic RESTIC_PASSWORD_FILE=${HOME}/.backup_password`;
const PLUGINS = ["postgres", "django"];

function args(image: string, ...extra: string[]): string[] {
  return [`image=${image}`, "prefix=ybs", "instance=hack", "backup_password=pw", "healthcheck_timeout=5", "postgres_ready_timeout=20", ...extra];
}

function requirePostgres(t: TestContext): boolean {
  if (!requireSandbox(t, "restic")) return false;
  if (existsSync("/usr/lib/postgresql")) return true;
  if (process.env["CI"] !== undefined) assert.fail("postgresql missing: .ci/run must install it");
  t.skip("postgresql not installed");
  return false;
}

function psql(host: SandboxHost, sql: string, role = "ybs-hack"): string {
  return host.must(`docker exec -i ${PG} psql -X -A -t -q -v ON_ERROR_STOP=1 --username ${q(role)} --dbname ${q(role)}`, { input: sql });
}

/** A digest of the table, so "the same rows" is one comparison. */
function rows(host: SandboxHost, role = "ybs-hack"): string {
  return psql(host, "SELECT count(*), md5(string_agg(x, ',' ORDER BY id)) FROM t;", role).trim();
}

/** The shim's calls since the given count, one line each. */
function callsAfter(host: SandboxHost, count: number): string[] {
  return host.calls().slice(count);
}

function listing(host: SandboxHost, dir: string): string {
  return host.must(`cd ${q(dir)} && find . -type f -exec sha256sum {} + | sort`);
}

/** Every dump file (postgres.sql, postgres.sql.partial) left anywhere under the home. */
function dumpsLeft(host: SandboxHost): string {
  return host.must(`find ${HOME} -name 'postgres.sql*'`).trim();
}

/** The size of a host file, 0 while it does not exist. */
function sizeOf(host: SandboxHost, path: string): number {
  try {
    return statSync(host.path(path)).size;
  } catch {
    return 0;
  }
}

async function installed(t: TestContext, ...extra: string[]): Promise<SandboxHost> {
  const host = await SandboxHost.start(t);
  host.image(V1, { user: "1000:1000" });
  host.image(V2, { user: "1000:1000" });
  mustInstall(host, buildBundle(args(V1, ...extra), { plugins: PLUGINS }));
  seedRepository(host, HOME, "pw");
  return host;
}

describe("postgres and django", () => {
  it("round trip: rows, media and logs come back and the snapshot's image runs", async (t) => {
    if (!requirePostgres(t)) return;
    const host = await installed(t);
    const dbEnv = host.containerEnv(NAME);
    assert.equal(dbEnv.get("DB_HOST"), PG);
    assert.ok((dbEnv.get("DB_PASSWORD") ?? "").length >= 16, "a generated password reached the app");
    assert.equal(host.containerEnv(PG).get("POSTGRES_PASSWORD"), dbEnv.get("DB_PASSWORD"));

    psql(host, `CREATE TABLE t (id serial PRIMARY KEY, x text);
      INSERT INTO t (x) SELECT 'row ' || g FROM generate_series(1, 2000) g;
      INSERT INTO t (x) VALUES (E'quote '' backslash \\\\ newline \\n ünïcödé');`);
    const before = rows(host);
    assert.match(before, /^2001\|/);
    host.must(
      `mkdir -p ${HOME}/media/uploads && head -c 50000 /dev/urandom >${HOME}/media/uploads/photo.jpg && ` +
        `printf 'doc\\n' >'${HOME}/media/a file.txt' && printf 'log line\\n' >${HOME}/log/app.log`,
    );
    const media = listing(host, `${HOME}/media`);
    const log = listing(host, `${HOME}/log`);
    host.must(`${HOME}/backup.sh`);
    const [snapshot] = JSON.parse(host.must(`${RESTIC_ENV} restic snapshots --json`)) as { id: string; paths: string[] }[];
    assert.ok(snapshot !== undefined);
    assert.ok(snapshot.paths.includes(`${HOME}/media`), snapshot.paths.join(" "));
    assert.ok(!host.exists(`${HOME}/.backup/postgres.sql`), "the dump does not stay on disk");

    // An upgrade, then damage everywhere.
    mustInstall(host, buildBundle(args(V2), { plugins: PLUGINS }));
    psql(host, "DELETE FROM t WHERE id % 2 = 0; INSERT INTO t (x) VALUES ('after the backup');");
    host.must(`rm -rf ${HOME}/media/* && printf 'changed\\n' >${HOME}/log/app.log`);
    assert.notEqual(rows(host), before);

    const out = host.must(`${HOME}/restore.sh ${snapshot.id}`);
    assert.match(out, /restore\.post: postgres/);
    assert.equal(rows(host), before);
    assert.equal(listing(host, `${HOME}/media`), media);
    assert.equal(listing(host, `${HOME}/log`), log);
    assert.deepEqual(host.container(NAME), { image: V1, running: true });
    assert.equal(host.container(PG)?.running, true);
    assert.ok(!host.exists(`${HOME}/.restore`));
  });

  it("a dump that fails (the postgres container stopped): backup.sh exits non-zero and keeps no snapshot", async (t) => {
    if (!requirePostgres(t)) return;
    const host = await installed(t);
    psql(host, "CREATE TABLE t (id serial PRIMARY KEY, x text); INSERT INTO t (x) VALUES ('x');");
    host.must(`docker stop ${PG}`);
    const result = host.sh(`${HOME}/backup.sh`);
    assert.equal(result.status, 1, result.stdout);
    assert.match(result.stderr, /pg_dumpall failed|dump is incomplete/);
    assert.equal(host.must(`${RESTIC_ENV} restic snapshots --json`).trim(), "[]");
    assert.ok(!host.exists(`${HOME}/.backup`), "no partial dump left behind");

    // Once the server is back, the next backup succeeds.
    host.must(`docker start ${PG}`);
    psql(host, "INSERT INTO t (x) SELECT repeat('y', 1000) FROM generate_series(1, 20000);");
    host.must(`${HOME}/backup.sh`);
    assert.equal((JSON.parse(host.must(`${RESTIC_ENV} restic snapshots --json`)) as unknown[]).length, 1);
  });

  it("a dump cut off midway (the server killed during pg_dumpall): backup.sh exits non-zero, no snapshot of the truncated dump is kept, no partial dump file is left", async (t) => {
    if (!requirePostgres(t)) return;
    const host = await installed(t);
    // ~20 MB of rows in the app's database, so the partial dump grows visibly before the kill.
    const tableBytes = 20_000 * 1000;
    psql(host, "CREATE TABLE t (id serial PRIMARY KEY, x text); INSERT INTO t (x) SELECT repeat('y', 1000) FROM generate_series(1, 20000);");
    // pg_dumpall dumps template1, postgres, then the others by name: zz_last comes after ybs-hack.
    // A transaction holding an exclusive lock on its table makes pg_dump wait there, so the dump
    // cannot finish before the kill however fast the machine (pg_dumpall writes 20 MB in ~0.1 s).
    psql(host, "CREATE DATABASE zz_last;");
    host.must(`docker exec ${PG} psql -X -q -v ON_ERROR_STOP=1 --username ybs-hack --dbname zz_last -c 'CREATE TABLE held (x int);'`);
    const holder = host.spawn(
      `printf 'BEGIN; LOCK TABLE held IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);\n' | ` +
        `docker exec -i ${PG} psql -X -q -v ON_ERROR_STOP=1 --username ybs-hack --dbname zz_last`,
    );
    const locked =
      "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database " +
      "WHERE d.datname = 'zz_last' AND l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.granted";
    host.must(
      `i=0; until [ "$(docker exec ${PG} psql -X -A -t --username ybs-hack --dbname ybs-hack -c ${q(locked)})" = 1 ]; do ` +
        `i=$((i + 1)); [ $i -lt 500 ] || exit 1; sleep 0.02; done`,
    );

    const backup = host.spawn(`${HOME}/backup.sh`);
    let ended: RunResult | undefined;
    void backup.done.then((result) => (ended = result));
    // Wait until the partial dump has grown past the table's rows; bounded generously for slow CI.
    const partial = `${HOME}/.backup/postgres.sql.partial`;
    const sizes: number[] = [];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const size = sizeOf(host, partial);
      if (sizes.at(-1) !== size) sizes.push(size);
      if (size > tableBytes) break;
      if (ended !== undefined) assert.fail(`backup.sh ended before the dump grew (sizes ${sizes.join(" ")}):\n${ended.stderr}`);
      if (Date.now() > deadline) assert.fail(`the partial dump did not grow past ${tableBytes} bytes in 60 s (sizes ${sizes.join(" ")})`);
      await sleep(10);
    }
    assert.ok(!host.read(partial).includes("PostgreSQL database cluster dump complete"), "the dump is still running");

    // The server dies as a killed container would: the postmaster (the shim's container pid) and
    // every backend, pg_dump's included. The postmaster is stopped first so it neither restarts
    // nor forks meanwhile; a child may still end on its own before its SIGKILL, hence the || true.
    host.must(
      `pid=$(cat "$PLC_SHIM_STATE/containers/${PG}/pid") && [ "$(cat /proc/$pid/comm)" = postgres ] && kill -STOP "$pid" && ` +
        `for child in $(cat /proc/$pid/task/$pid/children); do kill -KILL "$child" 2>/dev/null || true; done && kill -KILL "$pid"`,
    );
    const result = await backup.done;
    assert.notEqual(result.status, 0, result.stdout);
    assert.match(result.stderr, /error: pg_dumpall failed/);
    assert.match(result.stderr, /backup\.pre of postgres failed; no snapshot was made/);
    assert.doesNotMatch(result.stdout, /backing up|snapshot saved/);
    assert.equal(host.must(`${RESTIC_ENV} restic snapshots --json`).trim(), "[]");
    assert.equal(dumpsLeft(host), "", "no dump, partial or not, is left");
    assert.ok(!host.exists(`${HOME}/.backup`));
    assert.notEqual((await holder.done).status, 0, "the lock holder lost its server too");
  });

  it("a dump that exits 0 but is truncated: the trailer check refuses it, no snapshot, no dump left", async (t) => {
    if (!requirePostgres(t)) return;
    const host = await installed(t);
    psql(host, "CREATE TABLE t (id serial PRIMARY KEY, x text); INSERT INTO t (x) SELECT 'row ' || g FROM generate_series(1, 2000) g;");
    const full = join(host.dir, "full.sql");
    host.must(`docker exec ${PG} pg_dumpall --clean --if-exists --username ybs-hack >${q(full)}`);
    const half = Math.floor(statSync(full).size / 2);
    // A pg_dumpall that prints the first half of a real dump and exits 0, bound over the real one
    // in the container's mount namespace (where the shim's docker exec runs it).
    const fake = join(host.dir, "pg_dumpall");
    writeFileSync(fake, `#!/bin/sh\nexec head -c ${half} ${q(full)}\n`, { mode: 0o755 });
    host.must(
      `nsenter --target "$(cat "$PLC_SHIM_STATE/containers/${PG}/pid")" --mount -- ` +
        `sh -c 'mount --bind "$1" "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_dumpall"' sh ${q(fake)}`,
    );
    assert.equal(Buffer.byteLength(host.must(`docker exec ${PG} pg_dumpall --clean --if-exists --username ybs-hack`)), half, "the fake is in place");

    const result = host.sh(`${HOME}/backup.sh`);
    assert.notEqual(result.status, 0, result.stdout);
    assert.match(result.stderr, /error: the postgres dump is incomplete/);
    assert.doesNotMatch(result.stderr, /pg_dumpall failed/);
    assert.equal(host.must(`${RESTIC_ENV} restic snapshots --json`).trim(), "[]");
    assert.equal(dumpsLeft(host), "", "no dump, partial or not, is left");
  });
  it("playlabs' names <prefix>-<instance> by default (postgres_db/postgres_user spell them too): the server's role and database, pg_isready, pg_dumpall and the restore use them", async (t) => {
    if (!requirePostgres(t)) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { user: "1000:1000" });
    const names = ["postgres_db=ybs-hack"];
    mustInstall(host, buildBundle(args(V1, ...names), { plugins: PLUGINS }));
    seedRepository(host, HOME, "pw");
    const pgEnv = host.containerEnv(PG);
    assert.equal(pgEnv.get("POSTGRES_USER"), "ybs-hack");
    assert.equal(pgEnv.get("POSTGRES_DB"), "ybs-hack");
    assert.equal(host.containerEnv(NAME).get("DB_NAME"), "ybs-hack");
    assert.ok(host.calls().some((line) => line.includes("'pg_isready' '--quiet' '--username' 'ybs-hack' '--dbname' 'ybs-hack'")));

    psql(host, "CREATE TABLE t (id serial PRIMARY KEY, x text); INSERT INTO t (x) SELECT 'row ' || g FROM generate_series(1, 500) g;", "ybs-hack");
    const before = rows(host, "ybs-hack");
    const count = host.calls().length;
    host.must(`${HOME}/backup.sh`);
    assert.ok(callsAfter(host, count).some((line) => line.includes("'pg_dumpall' '--clean' '--if-exists' '--username' 'ybs-hack'")));
    const [snapshot] = JSON.parse(host.must(`${RESTIC_ENV} restic snapshots --json`)) as { id: string }[];
    assert.ok(snapshot !== undefined);

    psql(host, "DELETE FROM t WHERE id % 3 = 0;", "ybs-hack");
    assert.notEqual(rows(host, "ybs-hack"), before);
    host.must(`${HOME}/restore.sh ${snapshot.id}`);
    assert.equal(rows(host, "ybs-hack"), before);
    assert.equal(host.sh(`docker exec ${PG} psql -X -A -t --username ybs_hack --dbname postgres -c 'SELECT 1'`).status === 0, false, "no ybs_hack role was made");
  });

  it("a host an earlier plc build deployed with role <prefix>_<instance>: the default name stops the deploy before anything changes", async (t) => {
    if (!requirePostgres(t)) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { user: "1000:1000" });
    host.image(V2, { user: "1000:1000" });
    // What plc wrote before the default became playlabs' name.
    mustInstall(host, buildBundle(args(V1, "postgres_db=ybs_hack", "postgres_user=ybs_hack"), { plugins: PLUGINS }));
    const current = host.must(`readlink ${HOME}/current`);
    const result = install(host, buildBundle(args(V2), { plugins: PLUGINS }));
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /the running release connects to ybs-hack-postgres as ybs_hack, this one as ybs-hack: nothing was changed\. Keep the role with postgres_user=/);
    assert.equal(host.must(`readlink ${HOME}/current`), current);
    assert.equal(host.read(`${HOME}/docker-image`).trim(), V1);
    // Keeping the name deploys.
    mustInstall(host, buildBundle(args(V2, "postgres_db=ybs_hack", "postgres_user=ybs_hack"), { plugins: PLUGINS }));
  });

  it("a new major on an old data directory (postgres:15 data, postgres_image=postgres:17): install.sh stops before touching the server, data or docker-image", async (t) => {
    if (!requirePostgres(t)) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { user: "1000:1000" });
    host.image(V2, { user: "1000:1000" });
    host.image("postgres:17", { version: "17.2 (Debian 17.2-1.pgdg120+1)" });
    mustInstall(host, buildBundle(args(V1, "postgres_image=postgres:15"), { plugins: PLUGINS }));
    psql(host, "CREATE TABLE t (id serial PRIMARY KEY, x text); INSERT INTO t (x) VALUES ('kept');");
    const before = rows(host);
    const dataMajor = host.read(`${HOME}/postgres/data/PG_VERSION`);
    const pgId = host.must(`cat "$PLC_SHIM_STATE/containers/${PG}/id"`);
    const count = host.calls().length;

    // Given, not left to the default (a default keeps the running server: see takeover.test.ts).
    const result = install(host, buildBundle(args(V2, "postgres_image=postgres:17"), { plugins: PLUGINS }));
    assert.equal(result.status, 1, result.stdout);
    assert.match(
      result.stderr,
      new RegExp(`holds PostgreSQL ${dataMajor.trim()} data, postgres:17 runs PostgreSQL 17: nothing was changed\\. Keep ${dataMajor.trim()} with postgres_image=postgres:${dataMajor.trim()}, or upgrade it`),
    );
    const calls = callsAfter(host, count);
    assert.ok(!calls.some((line) => /^docker '(rm|stop|run)' .*'ybs-hack-postgres'/.test(line) || line.startsWith("docker 'run' '--detach' '--name' 'ybs-hack-postgres'")), calls.join("\n"));
    assert.deepEqual(host.container(PG), { image: "postgres:15", running: true });
    assert.equal(host.must(`cat "$PLC_SHIM_STATE/containers/${PG}/id"`), pgId, "the same container");
    assert.equal(host.read(`${HOME}/postgres/data/PG_VERSION`), dataMajor);
    assert.equal(rows(host), before);
    assert.equal(host.read(`${HOME}/docker-image`).trim(), V1);
    assert.deepEqual(host.container(NAME), { image: V1, running: true });
  });

  it("a playlabs host (postgres:10 running on PG_VERSION 10 data), first plc deploy: refused, the postgres container and its data untouched", async (t) => {
    if (!requirePostgres(t)) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { user: "1000:1000" });
    // playlabs' server, as the shim can run it: not a real PostgreSQL 10, a process on the data directory.
    host.image("postgres:10", { kind: "http" });
    host.must(
      `mkdir -p ${HOME}/postgres/data ${HOME}/postgres/run && printf '10\\n' >${HOME}/postgres/data/PG_VERSION && ` +
        `mkdir ${HOME}/postgres/data/base && printf 'rows' >${HOME}/postgres/data/base/1 && ` +
        `docker pull postgres:10 >/dev/null && docker network create ${NAME} >/dev/null && ` +
        `docker run --detach --name ${PG} --network ${NAME} --mount type=bind,source=${HOME}/postgres/data,target=/var/lib/postgresql/data postgres:10 >/dev/null`,
    );
    const data = listing(host, `${HOME}/postgres/data`);
    const pgId = host.must(`cat "$PLC_SHIM_STATE/containers/${PG}/id"`);
    host.image("postgres:17", { version: "17.6" });

    const result = install(host, buildBundle(args(V1), { plugins: PLUGINS }));
    assert.equal(result.status, 1, result.stdout);
    // The first deploy over an existing site backs it up first; the shim's stand-in for playlabs'
    // server cannot be dumped, so the backup refuses before the version check would (a real one dumps,
    // then the version check refuses): either way nothing changes.
    assert.match(result.stderr, /holds PostgreSQL 10 data, postgres:17 runs PostgreSQL 17: nothing was changed\. Keep 10 with postgres_image=postgres:10|backup failed: the deploy stopped, what ran before still runs/);
    assert.deepEqual(host.container(PG), { image: "postgres:10", running: true });
    assert.equal(host.must(`cat "$PLC_SHIM_STATE/containers/${PG}/id"`), pgId, "the same container");
    assert.equal(listing(host, `${HOME}/postgres/data`), data);

    // postgres_upgrade=true, but the old server gives no complete dump (the shim's stand-in answers
    // nothing): still nothing changed, no dump left behind.
    const upgrade = install(host, buildBundle(args(V1, "postgres_upgrade=true"), { plugins: PLUGINS }));
    assert.equal(upgrade.status, 1, upgrade.stdout);
    assert.match(upgrade.stderr, /the PostgreSQL 10 dump is incomplete; nothing was changed|backup failed: the deploy stopped, what ran before still runs/);
    assert.deepEqual(host.container(PG), { image: "postgres:10", running: true });
    assert.equal(host.must(`cat "$PLC_SHIM_STATE/containers/${PG}/id"`), pgId, "the same container");
    assert.equal(listing(host, `${HOME}/postgres/data`), data);
    assert.equal(host.must(`ls ${HOME}/postgres`).trim().split("\n").join(" "), "data run", "no data.10, no dump");
  });
  it("postgres_upgrade=true (PostgreSQL 15 data, postgres_image=postgres:16): the running 15 server dumps it, a fresh server loads it, the old data stays in data.15", async (t) => {
    if (!requirePostgres(t)) return;
    // The shim runs the installed PostgreSQL for every postgres image: "16" is 15 answering
    // --version with 16.4. The dump and the load are real.
    const host = await installed(t, "postgres_image=postgres:15");
    host.image("postgres:16", { version: "16.4" });
    psql(host, `CREATE TABLE t (id serial PRIMARY KEY, x text); INSERT INTO t (x) SELECT 'row ' || g FROM generate_series(1, 1000) g;
      SET password_encryption = 'md5'; ALTER ROLE "ybs-hack" PASSWORD 'the old one';`);
    const before = rows(host);
    const oldMajor = host.read(`${HOME}/postgres/data/PG_VERSION`).trim();

    const out = mustInstall(host, buildBundle(args(V2, "postgres_image=postgres:16", "postgres_upgrade=true"), { plugins: PLUGINS }));
    assert.match(out, new RegExp(`upgrading PostgreSQL ${oldMajor} to 16`));
    assert.deepEqual(host.container(PG), { image: "postgres:16", running: true });
    assert.equal(rows(host), before);
    assert.equal(host.read(`${HOME}/postgres/data.${oldMajor}/PG_VERSION`).trim(), oldMajor, "the old data is kept");
    assert.equal(host.must(`find ${HOME}/postgres -maxdepth 1 -name 'upgrade-*'`).trim(), "", "no dump left");
    const password = psql(host, "SELECT rolpassword FROM pg_authid WHERE rolname = 'ybs-hack';").trim();
    assert.match(password, /^SCRAM-SHA-256\$/, "the role has DB_PASSWORD again, not the dump's md5 one");
    assert.deepEqual(host.container(NAME), { image: V2, running: true });

    // The next deploy finds the server it started: nothing to upgrade, the data stays.
    const count = host.calls().length;
    const again = mustInstall(host, buildBundle(args(V1, "postgres_image=postgres:16", "postgres_upgrade=true"), { plugins: PLUGINS }));
    assert.doesNotMatch(again, /upgrading/);
    assert.ok(!callsAfter(host, count).some((line) => line.includes("'rm' '-f' 'ybs-hack-postgres'")));
    assert.equal(rows(host), before);
  });
});

describe("postgres after uninstall.sh (data kept)", () => {
  it("the next deploy backs up the cold data directory, runs, keeps the rows, and that snapshot restores", async (t) => {
    if (!requirePostgres(t)) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { user: "1000:1000" });
    host.image(V2, { user: "1000:1000" });
    mustInstall(host, buildBundle(args(V1, "postgres_image=postgres:15"), { plugins: PLUGINS }));
    psql(host, "CREATE TABLE t (id serial PRIMARY KEY, x text); INSERT INTO t (x) VALUES ('kept');");
    const before = rows(host);
    host.must(`${HOME}/uninstall.sh`);
    assert.equal(host.container(PG), undefined, "uninstall removed the server container");

    const out = mustInstall(host, buildBundle(args(V2, "postgres_image=postgres:15"), { plugins: PLUGINS }));
    assert.match(out, /no ybs-hack-postgres container: backing up the files of \/home\/ybs-hack\/postgres\/data/);
    assert.equal(rows(host), before);
    const files = host.must(`${RESTIC_ENV} restic ls latest ${HOME}/postgres/data`);
    assert.match(files, /\/postgres\/data\/PG_VERSION/);

    // That snapshot (files, no dump) restores: the rows come back over a later change.
    const snapshot = (JSON.parse(host.must(`${RESTIC_ENV} restic snapshots --json`)) as { id: string }[])[0]?.id ?? "";
    psql(host, "DELETE FROM t;");
    host.must(`${HOME}/restore.sh ${snapshot}`);
    assert.equal(rows(host), before);
  });
});
