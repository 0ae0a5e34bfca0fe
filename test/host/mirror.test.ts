// The lftp mirror of the restic repository to a loopback SFTP server: the system's sshd started
// inside the sandbox (its own port, host key and user), password authentication over lftp's pty.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seedRepository } from "./restic-repository.js";
import { SandboxHost, buildBundle, mustInstall, q, requireSandbox } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const IMAGE = "betagouv/mrs:v1";
const REMOTE = "/srv/mirror/ybs-hack";
// Everything lftp's command language or a shell would trip on; it travels percent-encoded in the DSN.
const PASSWORD = `p'a;ss !x$y"&|<> \`id\` %41`;
const LOCAL_ENV = `RESTIC_REPOSITORY=${HOME}/restic RESTIC_PASSWORD_FILE=${HOME}/.backup_password`;
const REMOTE_ENV = `RESTIC_REPOSITORY=${REMOTE} RESTIC_PASSWORD_FILE=${HOME}/.backup_password`;

/** sshd on 127.0.0.1:2222 inside the host, user `mirror` with PASSWORD, home /srv/mirror. */
function startSftp(host: SandboxHost): void {
  const dir = `${host.dir}/sshd`;
  host.must(`set -e
mkdir -p ${dir} /srv/mirror
ssh-keygen -q -t ed25519 -N '' -f ${dir}/host_key
hash=$(openssl passwd -6 -stdin <<'EOF'
${PASSWORD}
EOF
)
# The sandbox's private copies of passwd and shadow: appended in place (they are bind mounts).
printf 'mirror:x:2000:2000::/srv/mirror:/bin/sh\\n' >>/etc/passwd
printf 'mirror:x:2000:\\n' >>/etc/group
printf 'mirror:%s:19000:0:99999:7:::\\n' "$hash" >>/etc/shadow
chown 2000:2000 /srv/mirror
cat >${dir}/sshd_config <<EOF
Port 2222
ListenAddress 127.0.0.1
HostKey ${dir}/host_key
PidFile ${dir}/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication no
PermitRootLogin no
AllowUsers mirror
Subsystem sftp internal-sftp
EOF
/usr/sbin/sshd -f ${dir}/sshd_config -E ${dir}/sshd.log
# lftp runs ssh with StrictHostKeyChecking asked (sftp:auto-confirm no): the key must be known.
printf '[127.0.0.1]:2222 %s\\n' "$(cut -d' ' -f1,2 ${dir}/host_key.pub)" >/root/.ssh/known_hosts`);
}

async function mirroredHost(t: Parameters<typeof SandboxHost.start>[0]): Promise<SandboxHost> {
  const host = await SandboxHost.start(t);
  startSftp(host);
  const dsn = `sftp://mirror:${encodeURIComponent(PASSWORD)}@127.0.0.1:2222${REMOTE}`;
  mustInstall(host, buildBundle([`image=${IMAGE}`, "prefix=ybs", "instance=hack", "backup_password=pw", `lftp_dsn=${dsn}`]));
  seedRepository(host, HOME, "pw");
  return host;
}

function snapshotIds(host: SandboxHost, env: string): string[] {
  return (JSON.parse(host.must(`${env} restic snapshots --json`)) as { id: string }[]).map((s) => s.id).sort();
}

describe("lftp mirror", () => {
  it("mirrors without locks/, keeps the password out of every argv, and restore fetches a lost repository back", async (t) => {
    if (!requireSandbox(t, "restic", "lftp", "sshd", "ssh", "openssl")) return;
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
    if (!requireSandbox(t, "restic", "lftp", "sshd", "ssh", "openssl")) return;
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
});
