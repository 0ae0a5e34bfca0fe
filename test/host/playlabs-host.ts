// A host as playlabs left it (yourlabs/playlabs: roles/project, roles/backup, plugins/postgres,
// plugins/django, roles/nginx), made from its documented layout inside a sandbox host, for the
// takeover tests. Written from those facts, not from playlabs' code:
// - /home/<name> (root, 0771) with playlabs' docker-run.sh, backup.sh, restore.sh, prune.sh as
//   regular root 0700 files, docker-image and .backup_password owned by the `deploy` user (0700),
//   log/ (with the docker.log its backup.sh saves first), media/;
// - a restic repository at <home>/restic whose snapshot was taken the way playlabs' backup.sh takes
//   it, by the real restic: from the home, relative paths `log docker-run.sh docker-image media`
//   (restic 0.14 stores them at the tree root), the postgres dump by its absolute path
//   <home>/postgres/data/data.dump (`pg_dumpall -c` written by the server into its data directory),
//   tagged with the image and the GIT_COMMIT of its env, under the machine's host name (not <name>);
// - its units backup-<name>.service (enabled for boot: WantedBy=basic.target) and .timer (23:00),
//   backup-<name>.prune.service and .prune.timer (06:00);
// - the app container <name> on the network <name> with VIRTUAL_HOST/LETSENCRYPT_* in its env, the
//   postgres container <name>-postgres (postgres:10, role and database <name>), the nginx-proxy
//   container publishing 80/443 and its letsencrypt companion;
// - optionally the lftp mirror playlabs pushed: <dsn path>/<name>/restic on the loopback sftp server.
// The sandbox runs one PostgreSQL (Debian's): the "postgres:10" container is that server, and the
// image answers `postgres --version` with that major, so its data's PG_VERSION and the image agree
// as they did on the playlabs host.
import { seedRepository } from "./restic-repository.js";
import { q, type SandboxHost } from "./sandbox.js";
import { playlabsMirror, startSftp } from "./sftp.js";

export const PLAYLABS = {
  prefix: "ybs",
  instance: "hack",
  name: "ybs-hack",
  home: "/home/ybs-hack",
  image: "betagouv/mrs:old",
  /** The GIT_COMMIT in the image's env (its CI built it from that commit). */
  commit: "5e0f1c2d3b4a59687766554433221100ffeeddcc",
  /** A line the app container printed (docker logs shows it). */
  appOutput: "mrs old: listening on 8000",
  dns: "hack.example.com",
  letsencryptEmail: "ops@example.com",
  /** The backup password playlabs' inventory gave (project_backup_password). */
  backupPassword: "pw",
  /** postgres_password of the inventory: the role's password in the running server. */
  dbPassword: "playlabs-db-pw",
  /** What `hostname` said on the machine when playlabs' backup ran. */
  machine: "playlabs-vm",
  postgresImage: "postgres:10",
  proxyImage: "jwilder/nginx-proxy",
  companionImage: "jrcs/letsencrypt-nginx-proxy-companion",
  /** uid of playlabs' deploy user. */
  deployUid: 1001,
} as const;

export interface PlaylabsHostOptions {
  /** The postgres plugin: a running postgres:10 container with rows in table t, the dump in the snapshot. */
  postgres?: boolean;
  /** The nginx-proxy container on 80/443 and its letsencrypt companion. */
  proxy?: boolean;
  /** Push the repository to the sftp server the way playlabs' backup.sh does (starts the server). */
  mirror?: boolean;
}

export interface PlaylabsSite {
  /** The id of the snapshot playlabs' backup made. */
  snapshot: string;
  /** The major version of the PostgreSQL data directory (PG_VERSION), when postgres is on. */
  pgMajor: string | undefined;
}

const { name, home, image } = PLAYLABS;
const RESTIC_ENV = `RESTIC_REPOSITORY=${home}/restic RESTIC_PASSWORD_FILE=${home}/.backup_password`;

/** The rows of table t in the playlabs database, as one digest. */
export function playlabsRows(host: SandboxHost, role: string = name): string {
  return host
    .must(`docker exec -i ${q(`${name}-postgres`)} psql -X -A -t -q -v ON_ERROR_STOP=1 --username ${q(role)} --dbname ${q(name)}`, {
      input: "SELECT count(*), md5(string_agg(x, ',' ORDER BY id)) FROM t;",
    })
    .trim();
}

/**
 * A snapshot taken as playlabs' backup.sh takes it (docker logs saved first, the postgres dump into
 * the data directory, then one restic backup from the home, under the machine's host name); `time`
 * backdates it (restic backup --time). Returns its short id.
 */
export function playlabsBackup(host: SandboxHost, options: { postgres?: boolean; time?: string } = {}): string {
  const dump = options.postgres === true ? ` ${home}/postgres/data/data.dump` : "";
  const time = options.time === undefined ? "" : ` --time ${q(options.time)}`;
  const before = new Set(snapshotIds(host));
  host.must(`set -e
docker logs ${name} >${home}/log/docker.log 2>&1
${options.postgres === true ? `docker exec ${name}-postgres pg_dumpall -U ${name} -c -f /var/lib/postgresql/data/data.dump` : ":"}
cd ${home}
unshare --uts sh -c ${q(`hostname ${PLAYLABS.machine} && ${RESTIC_ENV} restic backup --quiet --tag ${PLAYLABS.commit} --tag ${q(image)}${time} log docker-run.sh docker-image${dump} media >/dev/null`)}`);
  const made = snapshotIds(host).filter((id) => !before.has(id));
  if (made.length !== 1 || made[0] === undefined) throw new Error(`playlabs' backup made ${String(made.length)} snapshots`);
  return made[0];
}

function snapshotIds(host: SandboxHost): string[] {
  return (JSON.parse(host.must(`${RESTIC_ENV} restic snapshots --json`)) as { short_id: string }[]).map((s) => s.short_id);
}

/** Puts a playlabs-made instance on the host; see the top of this file for what it holds. */
export function makePlaylabsHost(host: SandboxHost, options: PlaylabsHostOptions = {}): PlaylabsSite {
  const plugins = options.postgres === true ? "postgres django" : "django";
  host.image(image, { user: "1000:1000", env: `PATH=/usr/local/bin:/usr/bin:/bin\nGIT_COMMIT=${PLAYLABS.commit}`, log: PLAYLABS.appOutput });
  host.must(`set -e
printf 'deploy:x:${String(PLAYLABS.deployUid)}:${String(PLAYLABS.deployUid)}::/home/deploy:/bin/sh\\n' >>/etc/passwd
printf 'deploy:x:${String(PLAYLABS.deployUid)}:\\n' >>/etc/group
# No password (playlabs' users log in with their key): "*", so sudo's PAM account check passes.
printf 'deploy:*:19000:0:99999:7:::\\n' >>/etc/shadow
mkdir -m 0771 ${home}
mkdir ${home}/log ${home}/media
chown 1000:1000 ${home}/log ${home}/media
printf 'app log line\\n' >${home}/log/app.log
printf 'a photo\\n' >${home}/media/photo.jpg
# users.yml: the deploy user may write docker-image (it switches images, then sudo docker-run.sh).
printf '%s\\n' ${q(image)} >${home}/docker-image
printf '%s' ${q(PLAYLABS.backupPassword)} >${home}/.backup_password
chown deploy:root ${home}/docker-image ${home}/.backup_password
chmod 0700 ${home}/docker-image ${home}/.backup_password
cat >${home}/docker-run.sh <<'EOF'
#!/bin/bash -eux
# playlabs (roles/project/templates/docker-run.sh): ${name}, plugins ${plugins}
docker rm -f ${name} || echo could not rm container
docker run -d --name ${name} --restart unless-stopped --log-driver journald -v ${home}/log:/app/log -e VIRTUAL_HOST='${PLAYLABS.dns}' $(<${home}/docker-image)
docker network connect ${name} ${name}
EOF
cat >${home}/backup.sh <<'EOF'
#!/bin/bash
# playlabs (roles/backup/templates/backup.sh): refuses to run without BACKUP_FORCE, else restic backup from ${home}
[ -n "$BACKUP_FORCE" ] || exec systemctl start --wait backup-${name}
EOF
printf '#!/bin/bash\\n# playlabs (roles/backup/templates/restore.sh)\\n' >${home}/restore.sh
printf '#!/bin/bash -eux\\n# playlabs prune.sh: restic forget --keep-last 7 ...\\n' >${home}/prune.sh
chmod 0700 ${home}/docker-run.sh ${home}/backup.sh ${home}/restore.sh ${home}/prune.sh

# The units of roles/backup, and what systemctl enable made of them (the handler enables the backup unit).
cat >/etc/systemd/system/backup-${name}.service <<'EOF'
[Unit]
Description=${name} backup unit

[Service]
ExecStart=${home}/backup.sh
Type=oneshot
StandardOutput=journal
Environment=BACKUP_FORCE=1

[Install]
WantedBy=basic.target
EOF
printf '[Unit]\\nDescription=${name} backup timer\\n\\n[Timer]\\nOnCalendar=*-*-* 23:00:00\\n\\n[Install]\\nWantedBy=timers.target\\n' >/etc/systemd/system/backup-${name}.timer
printf '[Unit]\\nDescription=Prune ${name} backup unit\\n\\n[Service]\\nExecStart=${home}/prune.sh\\nType=oneshot\\nStandardOutput=journal\\n\\n[Install]\\nWantedBy=basic.target\\n' >/etc/systemd/system/backup-${name}.prune.service
printf '[Unit]\\nDescription=Prune ${name} backup timer\\n\\n[Timer]\\nOnCalendar=*-*-* 6:00:00\\n\\n[Install]\\nWantedBy=timers.target\\n' >/etc/systemd/system/backup-${name}.prune.timer
mkdir -p /etc/systemd/system/basic.target.wants /etc/systemd/system/timers.target.wants
ln -s /etc/systemd/system/backup-${name}.service /etc/systemd/system/basic.target.wants/
ln -s /etc/systemd/system/backup-${name}.timer /etc/systemd/system/timers.target.wants/
systemctl enable backup-${name}.service backup-${name}.timer >/dev/null
systemctl start backup-${name}.timer

# docker's default network (the shim has none until made), where playlabs' containers and nginx-proxy meet.
docker network create bridge >/dev/null
docker network create ${name} >/dev/null`);

  let pgMajor: string | undefined;
  if (options.postgres === true) {
    const pg = `${name}-postgres`;
    host.must(`set -e
mkdir -p ${home}/postgres/data ${home}/postgres/run
docker pull ${PLAYLABS.postgresImage} >/dev/null
POSTGRES_PASSWORD=${q(PLAYLABS.dbPassword)} POSTGRES_USER=${name} POSTGRES_DB=${name}
export POSTGRES_PASSWORD POSTGRES_USER POSTGRES_DB
docker run --detach --name ${pg} --restart always --network ${name} --log-driver journald \\
  --mount type=bind,source=${home}/postgres/data,target=/var/lib/postgresql/data \\
  --mount type=bind,source=${home}/postgres/run,target=/var/run/postgresql \\
  --env POSTGRES_PASSWORD --env POSTGRES_USER --env POSTGRES_DB ${PLAYLABS.postgresImage} >/dev/null
i=0; until docker exec ${pg} pg_isready --quiet --username ${name} --dbname ${name}; do i=$((i + 1)); [ $i -lt 200 ] || exit 1; sleep 0.1; done`);
    pgMajor = host.read(`${home}/postgres/data/PG_VERSION`).trim();
    host.image(PLAYLABS.postgresImage, { version: `${pgMajor}.0` });
    host.must(`docker exec -i ${pg} psql -X -q -v ON_ERROR_STOP=1 --username ${name} --dbname ${name}`, {
      input: "CREATE TABLE t (id serial PRIMARY KEY, x text); INSERT INTO t (x) SELECT 'row ' || g FROM generate_series(1, 300) g;",
    });
  }

  // The app, as playlabs' docker-run.sh started it (the shim takes --mount where playlabs wrote -v).
  const env: [string, string][] = [
    ["VIRTUAL_HOST", PLAYLABS.dns],
    ["LETSENCRYPT_HOST", PLAYLABS.dns],
    ["LETSENCRYPT_EMAIL", PLAYLABS.letsencryptEmail],
    ["SECRET_KEY", "playlabs-secret"],
    ...(options.postgres === true
      ? ([["DB_HOST", `${name}-postgres`], ["DB_NAME", name], ["DB_USER", name], ["DB_PASSWORD", PLAYLABS.dbPassword]] as [string, string][])
      : []),
  ];
  host.must(
    `docker pull ${q(image)} >/dev/null && docker run --detach --name ${name} --restart unless-stopped --log-driver journald --network ${name} ` +
      `--mount type=bind,source=${home}/log,target=/app/log ${env.map(([key, value]) => `--env ${q(`${key}=${value}`)}`).join(" ")} ${q(image)} >/dev/null`,
  );

  if (options.proxy === true) {
    host.must(`set -e
mkdir -p /home/nginx/conf.d /home/nginx/vhosts.d /home/nginx/certs /home/nginx/htpasswd
docker pull ${PLAYLABS.proxyImage} >/dev/null && docker pull ${PLAYLABS.companionImage} >/dev/null
docker run --detach --name nginx-proxy --hostname nginx-proxy --restart always --log-driver journald --network bridge --publish 80:80 --publish 443:443 \\
  --mount type=bind,source=/home/nginx/conf.d,target=/etc/nginx/conf.d --mount type=bind,source=/home/nginx/certs,target=/etc/nginx/certs \\
  --label com.github.jrcs.letsencrypt_nginx_proxy_companion.nginx_proxy=nginx-letsencrypt ${PLAYLABS.proxyImage} >/dev/null
docker run --detach --name nginx-letsencrypt --restart always --log-driver journald --network bridge \\
  --mount type=bind,source=/home/nginx/certs,target=/etc/nginx/certs ${PLAYLABS.companionImage} >/dev/null`);
  }

  seedRepository(host, home, PLAYLABS.backupPassword);
  const snapshot = playlabsBackup(host, { postgres: options.postgres === true });

  if (options.mirror === true) {
    startSftp(host);
    playlabsMirror(host, `${home}/restic`, name);
  }
  return { snapshot, pgMajor };
}
