// The generated configuration files, checked by the real tools on a sandbox host: systemd-analyze
// verify, nginx (nginx -t and a live proxy through the vhost), logrotate (-d and a forced run), and
// the whole life cycle of the scripts under busybox sh (every other test runs them under dash).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seedRepository } from "./restic-repository.js";
import { SandboxHost, buildBundle, mustInstall, q, requireSandbox } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const V1 = "betagouv/mrs:v1";
const V2 = "betagouv/mrs:v2";
const BASE = [`image=${V1}`, "prefix=ybs", "instance=hack", "backup_password=pw", "healthcheck_timeout=5"];
const UNITS = ["backup-ybs-hack.service", "backup-ybs-hack.timer", "prune-ybs-hack.service", "prune-ybs-hack.timer"];

describe("generated configuration on a host", () => {
  it("the systemd units pass systemd-analyze verify with nothing on stderr, and the backup unit runs", async (t) => {
    if (!requireSandbox(t, "restic", "systemd-analyze")) return;
    const host = await SandboxHost.start(t);
    mustInstall(host, buildBundle(BASE));
    // Control: verify does complain here about a unit whose program is missing.
    host.must(`mkdir -p /root/units && printf '[Service]\\nType=oneshot\\nExecStart=/nonexistent/x.sh\\n' >/root/units/broken.service`);
    assert.match(host.sh("systemd-analyze verify /root/units/broken.service").stderr, /nonexistent/);

    const verify = host.sh(`cd /etc/systemd/system && systemd-analyze verify ${UNITS.join(" ")}`);
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr, "");
    assert.match(host.read("/etc/systemd/system/backup-ybs-hack.service"), /^KillSignal=SIGINT$/m);
    assert.match(host.read("/etc/systemd/system/backup-ybs-hack.timer"), /^Persistent=true$/m);

    // What the timer starts, started the way systemd would (clean environment, no HOME).
    seedRepository(host, HOME, "pw");
    host.must("systemctl start backup-ybs-hack.service");
    host.must("systemctl start prune-ybs-hack.service");
    const snapshots = host.must(`RESTIC_REPOSITORY=${HOME}/restic RESTIC_PASSWORD_FILE=${HOME}/.backup_password restic snapshots --json`);
    assert.equal((JSON.parse(snapshots) as unknown[]).length, 1);
  });

  it("the vhost passes nginx -t on a wrapper config and proxies to the container with auth and redirects", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { body: "hello through nginx\n" });
    mustInstall(
      host,
      buildBundle([...BASE, "dns=ybs.example.com", "dns_redirect=old.example.com", '{"htaccess":[{"user":"alice","password":"s3cret pass"}]}']),
    );
    // Its own pid, logs and temp paths, and a non-privileged port, so it runs beside anything; the
    // workers run as Debian's nginx.conf has them (www-data, the group of the htpasswd file).
    const dir = "/root/nginx";
    host.must(
      `mkdir -p ${dir}/temp && sed 's/listen \\(.*\\)80;/listen \\18080;/' /etc/nginx/sites-enabled/ybs.example.com.conf >${dir}/vhost.conf && ` +
        `cat >${dir}/nginx.conf <<EOF
user www-data;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {}
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/temp/body;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;
  include ${dir}/vhost.conf;
}
EOF`,
    );
    const test = host.sh(`nginx -t -c ${dir}/nginx.conf`);
    assert.equal(test.status, 0, test.stderr);
    assert.match(test.stderr, /syntax is ok/);
    host.must(`nginx -c ${dir}/nginx.conf`);
    const curl = (args: string) => host.must(`curl -s -o /dev/null -w '%{http_code} %{redirect_url}' ${args}`);
    assert.equal(curl("-H 'Host: ybs.example.com' http://127.0.0.1:8080/"), "401 ");
    assert.equal(curl("-u 'alice:wrong' -H 'Host: ybs.example.com' http://127.0.0.1:8080/"), "401 ");
    assert.equal(
      host.must("curl -sf -u 'alice:s3cret pass' -H 'Host: ybs.example.com' http://127.0.0.1:8080/"),
      "hello through nginx\n",
    );
    // The redirect of an extra name has its own server block: no auth, straight to the canonical name.
    assert.equal(curl("-H 'Host: old.example.com' http://127.0.0.1:8080/some/path?x=1"), "301 http://ybs.example.com/some/path?x=1");
    host.must(`nginx -c ${dir}/nginx.conf -s quit`);
  });

  it("the logrotate file passes logrotate -d and a forced run rotates with copytruncate", async (t) => {
    if (!requireSandbox(t, "restic", "logrotate")) return;
    const host = await SandboxHost.start(t);
    host.image(V1, { user: "1000:1000" });
    mustInstall(host, buildBundle(BASE));
    const file = `/etc/logrotate.d/${NAME}`;
    host.must(`printf 'line one\\n' >${HOME}/log/app.log && printf 'x\\n' >${HOME}/log/other.txt && chown 1000:1000 ${HOME}/log/app.log`);
    const debug = host.sh(`logrotate -d -s /root/logrotate.state ${file}`);
    assert.equal(debug.status, 0, debug.stderr);
    assert.doesNotMatch(debug.stderr, /error|insecure/i);
    assert.match(debug.stderr, /considering log \/home\/ybs-hack\/log\/app\.log/);

    const inode = host.must(`stat -c %i ${HOME}/log/app.log`);
    const forced = host.sh(`logrotate -f -s /root/logrotate.state ${file}`);
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(host.read(`${HOME}/log/app.log.1`), "line one\n");
    assert.equal(host.read(`${HOME}/log/app.log`), "", "copytruncate: the file the container writes is truncated");
    assert.equal(host.must(`stat -c %i ${HOME}/log/app.log`), inode, "same inode: the container keeps writing to it");
    assert.equal(host.must(`stat -c %u ${HOME}/log/app.log.1`).trim(), "1000");
    assert.ok(!host.exists(`${HOME}/log/other.txt.1`), "only *.log rotates");
    // An empty log is not rotated (notifempty), and the second rotation compresses the first (delaycompress).
    host.must(`printf 'line two\\n' >>${HOME}/log/app.log && logrotate -f -s /root/logrotate.state ${file}`);
    assert.ok(host.exists(`${HOME}/log/app.log.2.gz`));
    assert.equal(host.read(`${HOME}/log/app.log.1`), "line two\n");
  });
});

describe("busybox sh", () => {
  it("runs the whole life cycle: install, check, backup, upgrade, restore, prune, rollback, uninstall", async (t) => {
    if (!requireSandbox(t, "restic", "nginx")) return;
    const host = await SandboxHost.start(t, { shell: "busybox" });
    assert.match(host.must("sh --help 2>&1 || true"), /^BusyBox/);
    host.image(V1, { body: "v1\n" });
    host.image(V2, { body: "v2\n" });
    const a = buildBundle([...BASE, "dns=ybs.example.com", "env.QUOTED=it's \"x\"\n$y"]);
    const b = buildBundle([...BASE.map((arg) => arg.replace(V1, V2)), "dns=ybs.example.com"]);
    const dirA = `/root/a`;
    host.must(`mkdir -p ${dirA} && tar -xzf ${q(a.tarball)} -C ${dirA}`);
    host.must(`sh ${dirA}/${a.name}/install.sh --check --secrets ${q(a.secrets)}`);
    host.must(`sh ${dirA}/${a.name}/install.sh --secrets ${q(a.secrets)}`);
    assert.equal(host.containerEnv(NAME).get("QUOTED"), "it's \"x\"\n$y");
    seedRepository(host, HOME, "pw");
    host.must(`printf 'v1 data\\n' >${HOME}/log/app.log && ${HOME}/backup.sh`);
    const snapshot = host.must(`${HOME}/restore.sh`).match(/^([0-9a-f]{8}) /m)?.[1];
    assert.ok(snapshot !== undefined);
    mustInstall(host, b);
    assert.deepEqual(host.container(NAME), { image: V2, running: true });
    host.must(`printf 'v2 data\\n' >${HOME}/log/app.log && ${HOME}/restore.sh ${snapshot}`);
    assert.equal(host.read(`${HOME}/log/app.log`), "v1 data\n");
    assert.deepEqual(host.container(NAME), { image: V1, running: true });
    host.must(`${HOME}/prune.sh`);
    host.must(`${HOME}/current/install.sh --rollback`);
    assert.equal(host.must(`readlink ${HOME}/current`).trim(), `releases/${a.id}`);
    host.must(`${HOME}/uninstall.sh --purge`);
    assert.ok(!host.exists(HOME));
  });
});
