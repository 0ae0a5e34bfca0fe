// The postgres plugin on the real engine: a PostgreSQL image built from the Debian archive with the
// official image's contract (test/engine/image/postgres-*.sh), tagged postgres:17 so nothing is
// pulled; first deploy, logins over the instance network, backup, destroy, restore, redeploy.
import assert from "node:assert/strict";
import { it } from "node:test";
import { buildBundle, mustInstall, q } from "../host/sandbox.js";
import { EngineHost, postgresRootfs, requireEngine } from "./engine.js";

const NAME = "e2e-b";
const HOME = `/home/${NAME}`;
const PG = `${NAME}-postgres`;
const DB = "e2e-b";
const PORT = 28002;
const base = (...more: string[]): string[] => ["image=app:v1", "prefix=e2e", "instance=b", `host_port=${String(PORT)}`, "backup_password=s3cret", "healthcheck_timeout=10", ...more];

it("postgres with backups on a real docker engine", async (t) => {
  if (!requireEngine(t, "restic", "mmdebstrap")) return;
  const rootfs = postgresRootfs();
  const engine = await EngineHost.start(t);
  const { host } = engine;
  engine.appImage("app:v1", { version: "v1" });
  engine.postgresImage(rootfs);
  const bundle = buildBundle(base(), { plugins: ["postgres"] });
  const psql = (sql: string): string => host.must(`docker exec -i ${q(PG)} psql -q -At -v ON_ERROR_STOP=1 -U ${DB} -d ${DB}`, { input: sql }).trim();
  /** psql from another container on the instance network, over TCP, with a password. */
  const login = (password: string) =>
    host.sh(`PGPASSWORD=${q(password)} docker run --rm --network ${q(NAME)} --env PGPASSWORD --entrypoint psql postgres:17 -h ${q(PG)} -U ${DB} -d ${DB} -Atc 'select 1'`);

  await t.test("first deploy: the image's entrypoint initialises the database with the host's generated password", () => {
    mustInstall(host, bundle);
    assert.equal(engine.get(PORT), "v1\n");
    assert.equal(engine.inspect(PG, "{{.Config.Image}} {{.State.Running}} {{.Config.StopSignal}}"), "postgres:17 true SIGINT");
    const password = /^DB_PASSWORD=(.*)$/m.exec(host.read(`${HOME}/.host-secrets.env`))?.[1] ?? "";
    assert.match(password, /^[0-9a-f]{64}$/);
    const ok = login(password);
    assert.equal(ok.stdout.trim(), "1", ok.stderr);
    assert.notEqual(login("wrong").status, 0, "a wrong password logged in");
    assert.equal(host.must(`stat -c %u ${q(`${HOME}/postgres/data`)}`).trim(), "999");
  });

  await t.test("backup.sh dumps the database; restore.sh of that snapshot brings the rows back", () => {
    psql("CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('first'), ('ünï ‘quoted’ $x');");
    host.must(`${HOME}/backup.sh`);
    psql("DROP TABLE notes;");
    host.must(`${HOME}/restore.sh latest`, { timeout: 180_000 });
    assert.equal(psql("SELECT string_agg(body, '|' ORDER BY id) FROM notes;"), "first|ünï ‘quoted’ $x");
    assert.equal(engine.get(PORT), "v1\n");
  });

  await t.test("a redeploy backs up first and keeps the running server", () => {
    const id = engine.inspect(PG, "{{.Id}}");
    mustInstall(host, bundle);
    assert.equal(engine.inspect(PG, "{{.Id}}"), id);
    assert.equal(psql("SELECT count(*) FROM notes;"), "2");
  });

  await t.test("a postgres_image change shuts the old server down cleanly", () => {
    engine.docker(["tag", "postgres:17", "postgres:17.9"]);
    mustInstall(host, buildBundle(base("postgres_image=postgres:17.9"), { plugins: ["postgres"] }));
    const logs = host.must(`docker logs ${q(PG)} 2>&1`);
    assert.doesNotMatch(logs, /not properly shut down|automatic recovery/);
    assert.equal(psql("SELECT count(*) FROM notes;"), "2");
  });

  await t.test("restore.sh loads the dump without errors", () => {
    const result = host.sh(`${HOME}/restore.sh latest`, { timeout: 180_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /ERROR/);
  });

  await t.test("a redeploy after uninstall.sh (data kept) finds the data again", () => {
    host.must(`${HOME}/uninstall.sh`);
    mustInstall(host, bundle);
    assert.equal(psql("SELECT count(*) FROM notes;"), "2");
  });
});
