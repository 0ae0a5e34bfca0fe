// What backup.sh records on the real engine (the shim's answers are checked here): the image that runs
// and its GIT_COMMIT as restic tags, the container's stdout and stderr in .backup/docker.log, with the
// json-file driver and with journald (a systemd-journald of the sandbox's own, on its private /run).
import assert from "node:assert/strict";
import { it } from "node:test";
import { seedRepository } from "../host/restic-repository.js";
import { buildBundle, mustInstall, q } from "../host/sandbox.js";
import { EngineHost, requireEngine } from "./engine.js";

const NAME = "e2e-k";
const HOME = `/home/${NAME}`;
const PORT = 28003;
const COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const RESTIC_ENV = `RESTIC_REPOSITORY=${HOME}/restic RESTIC_PASSWORD_FILE=${HOME}/.backup_password`;
const base = (image: string, ...more: string[]): string[] => [`image=${image}`, "prefix=e2e", "instance=k", `host_port=${String(PORT)}`, "backup_password=pw", "healthcheck_timeout=10", ...more];

/** journald for the sandbox only: volatile storage under its private /run, no kernel log, no audit. */
const JOURNALD = `set -e
mount -t tmpfs -o mode=0755 tmpfs /var/log/journal 2>/dev/null || [ ! -e /var/log/journal ]
mkdir -p /run/plc-journald && printf '[Journal]\\nStorage=volatile\\nReadKMsg=no\\nAudit=no\\nForwardToSyslog=no\\nForwardToWall=no\\n' >/run/plc-journald/journald.conf
mount --bind /run/plc-journald/journald.conf /etc/systemd/journald.conf
setsid /lib/systemd/systemd-journald </dev/null >/run/plc-journald/out 2>&1 &
i=0; until [ -S /run/systemd/journal/socket ]; do i=$((i + 1)); [ $i -lt 100 ] || { cat /run/plc-journald/out >&2; exit 1; }; sleep 0.05; done`;

interface Snapshot {
  id: string;
  tags?: string[];
}

it("backup.sh on a real docker engine: tags the image and its GIT_COMMIT, keeps docker logs (json-file and journald)", async (t) => {
  if (!requireEngine(t, "restic", "journalctl", "/lib/systemd/systemd-journald")) return;
  const engine = await EngineHost.start(t);
  const { host } = engine;
  engine.appImage("app:v1", { version: "v1", env: [`GIT_COMMIT=${COMMIT}`] });
  engine.appImage("app:v2", { version: "v2" });
  const latest = (): Snapshot => {
    const all = JSON.parse(host.must(`${RESTIC_ENV} restic snapshots --json`)) as Snapshot[];
    const last = all.at(-1);
    assert.ok(last !== undefined);
    return last;
  };
  const dockerLog = (id: string): string => host.must(`${RESTIC_ENV} restic dump ${id} ${HOME}/.backup/docker.log`);

  await t.test("json-file: the container's image id leads to its env; stdout and stderr are in the snapshot", () => {
    mustInstall(host, buildBundle(base("app:v1")));
    assert.equal(engine.inspect(NAME, "{{.HostConfig.LogConfig.Type}}"), "json-file");
    seedRepository(host, HOME, "pw");
    const out = host.sh(`${HOME}/backup.sh`);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stderr, "");
    const snapshot = latest();
    assert.deepEqual(snapshot.tags?.sort(), [COMMIT, "app:v1", "plc"].sort());
    const log = dockerLog(snapshot.id);
    assert.match(log, /^app v1 starting, mode ok$/m);
    assert.match(log, /^app v1 has a stderr too$/m);
  });

  await t.test("journald: docker logs reads the journal; the snapshot before the upgrade keeps the v1 output", () => {
    host.must(JOURNALD);
    mustInstall(host, buildBundle(base("app:v1", "log_driver=journald")));
    assert.equal(engine.inspect(NAME, "{{.HostConfig.LogConfig.Type}}"), "journald");
    mustInstall(host, buildBundle(base("app:v2", "log_driver=journald")));
    const [beforeUpgrade] = JSON.parse(host.must(`${RESTIC_ENV} restic snapshots --json --tag ${COMMIT} --latest 1`)) as Snapshot[];
    assert.ok(beforeUpgrade !== undefined);
    assert.match(dockerLog(beforeUpgrade.id), /^app v1 has a stderr too$/m);
    host.must(`${HOME}/backup.sh`);
    const v2 = latest();
    assert.deepEqual(v2.tags?.sort(), ["app:v2", "plc"].sort(), "app:v2 has no GIT_COMMIT");
    assert.match(dockerLog(v2.id), /^app v2 starting, mode ok$/m);
    assert.match(host.must(`journalctl --directory=/run/log/journal CONTAINER_NAME=${q(NAME)} -o cat`), /app v2 starting/);
  });
});
