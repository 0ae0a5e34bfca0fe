// Backup and restore with the postgres and django plugins: the postgres "container" is a real
// PostgreSQL from Debian run by the docker shim on the directories the plugin mounts, so
// pg_dumpall and psql move real rows.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it, type TestContext } from "node:test";
import { seedRepository } from "./restic-repository.js";
import { SandboxHost, buildBundle, mustInstall, q, requireSandbox } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const PG = `${NAME}-postgres`;
const V1 = "betagouv/mrs:v1";
const V2 = "betagouv/mrs:v2";
const RESTIC_ENV = `RESTIC_REPOSITORY=${HOME}/restic RESTIC_PASSWORD_FILE=${HOME}/.backup_password`;
const PLUGINS = ["postgres", "django"];

function args(image: string): string[] {
  return [`image=${image}`, "prefix=ybs", "instance=hack", "backup_password=pw", "healthcheck_timeout=5", "postgres_ready_timeout=20"];
}

function requirePostgres(t: TestContext): boolean {
  if (!requireSandbox(t, "restic")) return false;
  if (existsSync("/usr/lib/postgresql")) return true;
  if (process.env["CI"] !== undefined) assert.fail("postgresql missing: .ci/run must install it");
  t.skip("postgresql not installed");
  return false;
}

function psql(host: SandboxHost, sql: string): string {
  return host.must(`docker exec -i ${PG} psql -X -A -t -q -v ON_ERROR_STOP=1 --username ybs_hack --dbname ybs_hack`, { input: sql });
}

/** A digest of the table, so "the same rows" is one comparison. */
function rows(host: SandboxHost): string {
  return psql(host, "SELECT count(*), md5(string_agg(x, ',' ORDER BY id)) FROM t;").trim();
}

function listing(host: SandboxHost, dir: string): string {
  return host.must(`cd ${q(dir)} && find . -type f -exec sha256sum {} + | sort`);
}

async function installed(t: TestContext): Promise<SandboxHost> {
  const host = await SandboxHost.start(t);
  host.image(V1, { user: "1000:1000" });
  host.image(V2, { user: "1000:1000" });
  mustInstall(host, buildBundle(args(V1), { plugins: PLUGINS }));
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
});
