// playlabs' variables under the names playlabs reads (roles/project/vars/main.yml, plugins/*/vars.yml),
// the environment playlabs gave every container, and the image's own ENV left alone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { CLI } from "./fixtures.js";

const work = mkdtempSync(join(tmpdir(), "plc-playlabs-vars-"));
after(() => { rmSync(work, { recursive: true, force: true }); });

function plc(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: work, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...env } });
}

let count = 0;
/** An inventory directory from {relative path: content}. */
function inventory(files: Record<string, string>): string {
  const dir = join(work, `inv${++count}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** `plc render` into a fresh directory; returns a reader of its files. */
function render(args: string[], env: NodeJS.ProcessEnv = {}): { read: (path: string) => string; stderr: string } {
  const out = join(work, `render${++count}`);
  const result = plc(["render", "-o", out, ...args], env);
  assert.equal(result.status, 0, result.stderr);
  return { read: (path) => readFileSync(join(out, path), "utf8"), stderr: result.stderr };
}

function explain(args: string[], env: NodeJS.ProcessEnv = {}): Map<string, string> {
  const result = plc(["explain", ...args], env);
  assert.equal(result.status, 0, result.stderr);
  return new Map(result.stdout.trim().split("\n").map((line) => [line.split(" = ")[0] ?? "", line] as const));
}

const PROJECT = "group_vars/all/project.yml";

describe("playlabs' variable names", () => {
  it("<pv>_backup_lftp_dsn is lftp_dsn (V9), located where it was written", () => {
    const dir = inventory({ [PROJECT]: "yp_prod_image: reg.example.com/app:1\nyp_prod_backup_password: s3cret\nyp_prod_backup_lftp_dsn: sftp://u:p@backup.example.com/dir\n" });
    const values = explain(["-i", dir, "prefix=yp", "instance=prod", "lftp_dsn"]);
    assert.match(values.get("lftp_dsn") ?? "", /= "\*{8}" {2}<- .*project\.yml:3:/);
    const bundle = render(["-i", dir, "prefix=yp", "instance=prod"]);
    assert.match(bundle.read("backup.sh"), /lftp/);
  });

  it("timeout is the health check's (V40)", () => {
    assert.match(render(["image=reg.example.com/app:1", "timeout=7"]).read("install.sh"), /^health_timeout=7$/m);
  });

  it("networks: the container joins each (V6)", () => {
    const script = render(["image=reg.example.com/app:1", "networks=shared-net,other"]).read("docker-run.sh");
    assert.match(script, /"\$docker" network connect shared-net "\$container"/);
    assert.match(script, /"\$docker" network connect other "\$container"/);
  });

  it("secure and letsencrypt_environment are accepted with a note (V15, V20)", () => {
    const result = plc(["check", "image=reg.example.com/app:1", "secure=true", "letsencrypt_environment=production"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /note: secure \(argv\[2\] 'secure=…'\) is read by playlabs and used nowhere/);
    assert.match(result.stderr, /note: letsencrypt_environment \(argv\[3\]/);
  });

  it("letsencrypt_*, slack_* are accepted and the Slack token is masked (V12, V14, V26)", () => {
    const values = explain(["image=reg.example.com/app:1", "letsencrypt_email=ops@example.com", "letsencrypt_uri=https://acme.example.com/dir", "slack_token=xoxb-secret", "slack_channel=deploys"]);
    assert.match(values.get("letsencrypt_email") ?? "", /"ops@example.com"/);
    assert.match(values.get("letsencrypt_uri") ?? "", /"https:\/\/acme.example.com\/dir"/);
    assert.match(values.get("slack_token") ?? "", /"\*{8}"/);
    assert.match(values.get("slack_channel") ?? "", /"deploys"/);
  });

  it("<prefix>_slack_icon and <prefix>-<instance>_email_from are read under playlabs' names (V27, V28)", () => {
    const dir = inventory({ [PROJECT]: "yp_prod_image: reg.example.com/app:1\nyp_prod_dns: yp.example.com\nyp_slack_icon: https://example.com/i.png\nyp-prod_email_from: noreply@example.com\n" });
    const values = explain(["-i", dir, "prefix=yp", "instance=prod", "slack_icon", "email_from", "env"]);
    assert.match(values.get("slack_icon") ?? "", /"https:\/\/example.com\/i.png" {2}<- .*project\.yml:3:/);
    assert.match(values.get("email_from") ?? "", /"noreply@example.com" {2}<- .*project\.yml:4:/);
    assert.match(values.get("env.DEFAULT_FROM_EMAIL") ?? "", /"noreply@example.com"/);
  });

  it("a misspelt playlabs name gets did you mean", () => {
    const result = plc(["check", "image=reg.example.com/app:1", "backup_lftp_dns=sftp://u:p@h/x"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown variable 'backup_lftp_dns'[\s\S]*did you mean 'backup_lftp_dsn'/);
  });
});

describe("playlabs' postgres variables (V29-V31, E9)", () => {
  it("role and database default to <prefix>-<instance>, as playlabs made them", () => {
    const bundle = render(["image=reg.example.com/app:1", "prefix=ybs", "instance=hack", "-p", "postgres"]);
    assert.match(bundle.read("env"), /^DB_NAME=ybs-hack$/m);
    assert.match(bundle.read("env"), /^DB_USER=ybs-hack$/m);
    assert.match(bundle.read("hooks/01-postgres/backup.pre.sh"), /^db_user=ybs-hack$/m);
  });

  it("postgres_db, postgres_user, postgres_password and the mounts are honoured; the password is a secret", () => {
    const out = join(work, "pgbuild");
    const result = plc(["build", "-o", out, "image=reg.example.com/app:1", "prefix=ybs", "instance=hack", "-p", "postgres", "postgres_db=ybsdb", "postgres_user=ybsuser", "postgres_password=pg-secret-pw", "postgres_run_mount=/run/pg"]);
    assert.equal(result.status, 0, result.stderr);
    const files = result.stdout.trim().split("\n");
    const secrets = files.find((file) => file.endsWith(".secrets.env")) ?? "";
    assert.match(readFileSync(secrets, "utf8"), /^DB_PASSWORD=pg-secret-pw$/m);
    const tarball = readFileSync(files.find((file) => file.endsWith(".tar.gz")) ?? "");
    assert.ok(!spawnSync("sh", ["-c", "gzip -dc | grep -a -c pg-secret-pw"], { input: tarball, encoding: "utf8" }).stdout.startsWith("1"), "the password is not in the tarball");
    const bundle = render(["image=reg.example.com/app:1", "prefix=ybs", "instance=hack", "-p", "postgres", "postgres_db=ybsdb", "postgres_user=ybsuser", "postgres_run_mount=/run/pg"]);
    assert.match(bundle.read("env"), /^DB_NAME=ybsdb$/m);
    assert.match(bundle.read("env"), /^DB_USER=ybsuser$/m);
    assert.match(bundle.read("hooks/01-postgres/deploy.pre.sh"), /target=\/run\/pg/);
  });

  it("postgres_home at playlabs' default is accepted; elsewhere it is a located error", () => {
    assert.equal(plc(["check", "image=reg.example.com/app:1", "-p", "postgres", "postgres_data_home=/home/project-staging/postgres/data"]).status, 0);
    const result = plc(["check", "image=reg.example.com/app:1", "-p", "postgres", "postgres_home=/srv/pg"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /error\[playlabs-postgres-data\]: postgres_home must be \/home\/project-staging\/postgres[\s\S]*argv\[4\] 'postgres_home=…'/);
  });

  it("an empty postgres_password (playlabs' default) leaves DB_PASSWORD to the host, with a note", () => {
    const result = plc(["check", "image=reg.example.com/app:1", "-p", "postgres", "postgres_password="]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /postgres_password is empty .* plc generates DB_PASSWORD on the host/);
  });
});

describe("htaccess: true (V21)", () => {
  const files = {
    [PROJECT]: [
      "yp_prod_image: reg.example.com/app:1",
      "yp_prod_dns: yp.example.com",
      "yp_prod_htaccess: true",
      "users:",
      "- {name: alice, roles: {yp-prod: [readonly]}}",
      "- {name: hacker, roles: {superuser: [yp-prod]}}",
      "- {name: bob, roles: {other-prod: [superuser]}}",
      "- {name: carol, roles: {yp-prod: [superuser]}}",
      "",
    ].join("\n"),
    "passwords/alice": "alice-pw\n",
    "passwords/hacker": "hacker-pw\n",
    "passwords/bob": "bob-pw\n",
  };

  it("protects the vhost with the users of the instance that have a passwords/<name> file", () => {
    const htpasswd = render(["-i", inventory(files), "prefix=yp", "instance=prod"]).read("nginx/htpasswd");
    assert.deepEqual(htpasswd.trim().split("\n").map((line) => line.split(":")[0]), ["alice", "hacker"]);
  });

  it("false, and the list form, still work", () => {
    const dir = inventory(files);
    assert.throws(() => render(["-i", dir, "prefix=yp", "instance=prod", "htaccess=false"]).read("nginx/htpasswd"), /ENOENT/);
    const listed = render(["-i", dir, "prefix=yp", "instance=prod", '{"htaccess":[{"user":"zed","password":"x"}]}']).read("nginx/htpasswd");
    assert.match(listed, /^zed:/);
  });

  it("true with no such user is a located error", () => {
    const result = plc(["check", "-i", inventory({ [PROJECT]: "yp_prod_image: reg.example.com/app:1\nyp_prod_dns: yp.example.com\nyp_prod_htaccess: true\n" }), "prefix=yp", "instance=prod"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /error\[htaccess-no-user\]: htaccess is true, but no inventory user[\s\S]*project\.yml:3:/);
  });
});

describe("the container's environment, as playlabs gave it (E1-E6, E12)", () => {
  it("ALLOWED_HOSTS, VIRTUAL_HOST, DEFAULT_FROM_EMAIL, PLAYLABS_*, LOG, SENTRY_ORG", () => {
    const env = render(["image=reg.example.com/app:1", "prefix=ybs", "instance=hack", "dns=ybs.example.com", "dns_redirect=www.ybs.example.com", "-p", "sentry", "sentry_dsn=https://k@sentry.example.com/42"]).read("env");
    for (const line of [
      "ALLOWED_HOSTS=ybs.example.com",
      "VIRTUAL_HOST=ybs.example.com,www.ybs.example.com",
      "DEFAULT_FROM_EMAIL=ybs@ybs.example.com",
      "PLAYLABS_PREFIX=ybs",
      "PLAYLABS_INSTANCE=hack",
      "PLAYLABS_PLUGINS=sentry",
      "LOG=/app/log",
      "SENTRY_ORG=sentry",
    ]) {
      assert.ok(env.split("\n").includes(line), `${line} in\n${env}`);
    }
  });

  it("the project's env wins over the base env, and explain names the project's origin", () => {
    const values = explain(["image=reg.example.com/app:1", "dns=a.example.com", "env.ALLOWED_HOSTS=*", "-p", "postgres", "env.DB_NAME=mine", "env"]);
    assert.match(values.get("env.ALLOWED_HOSTS") ?? "", /= "\*" {2}<- argv\[3\]/);
    // The plugin's default used to hide where the project's value came from.
    assert.match(values.get("env.DB_NAME") ?? "", /= "mine" {2}<- argv\[6\]/);
  });

  it("without dns: no ALLOWED_HOSTS, and a note that the app answers on loopback only (V18)", () => {
    const bundle = render(["image=reg.example.com/app:1"]);
    assert.doesNotMatch(bundle.read("env"), /ALLOWED_HOSTS|VIRTUAL_HOST/);
    assert.match(plc(["check", "image=reg.example.com/app:1"]).stderr, /note: no dns: the app answers only on 127\.0\.0\.1:\d+ of the host \(playlabs served it on the host's address\); give dns=/);
  });

  it("uwsgi sets no UWSGI_SPOOLER_* over the image's ENV; the spooler goes to /app/spooler (E13, V38)", () => {
    const bundle = render(["image=reg.example.com/app:1", "-p", "uwsgi"]);
    assert.doesNotMatch(bundle.read("env"), /UWSGI_SPOOLER/);
    assert.doesNotMatch(bundle.read("docker-run.sh"), /--env UWSGI_SPOOLER/);
    assert.match(bundle.read("docker-run.sh"), /target=\/app\/spooler/);
  });

  it("journald log driver by default, json-file on request; logrotate keeps 36 (H6, H20)", () => {
    const bundle = render(["image=reg.example.com/app:1"]);
    // journald when the host has it; docker's bounded json-file (said) when it has not.
    assert.match(bundle.read("docker-run.sh"), /if \[ -S \/run\/systemd\/journal\/socket \]; then\n {2}set -- "\$@" journald tag=project-staging mode=blocking\nelse\n.*json-file.*\n {2}set -- "\$@" json-file max-size=10m max-file=3\nfi/);
    assert.match(bundle.read("docker-run.sh"), /--log-driver "\$9" --log-opt "\$\{10\}" --log-opt "\$\{11\}"/);
    assert.match(bundle.read("logrotate/project-staging"), /^ {4}rotate 36$/m);
    const json = render(["image=reg.example.com/app:1", "log_driver=json-file", "log_rotate=5"]);
    assert.match(json.read("docker-run.sh"), /^set -- "\$@" json-file max-size=10m max-file=3$/m);
    assert.doesNotMatch(json.read("docker-run.sh"), /journald/);
    assert.match(json.read("logrotate/project-staging"), /^ {4}rotate 5$/m);
  });
});

describe("differences that stay, said at build time", () => {
  it("a YAML boolean in env: a note says playlabs passed 'True' (E16)", () => {
    const dir = inventory({ [PROJECT]: "yp_prod_image: reg.example.com/app:1\nyp_prod_env:\n  DEBUG: true\n" });
    const result = plc(["check", "-i", dir, "prefix=yp", "instance=prod"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /note: env\.DEBUG \(.*project\.yml:3:\d+\) is YAML's boolean true: the container gets 'true' where playlabs passed 'True'/);
  });

  it("a playlabs prefix plc refuses: the hint keeps the playlabs home (V2)", () => {
    const result = plc(["check", "image=reg.example.com/app:1", "prefix=my_project"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /try prefix=my-project; playlabs took any name, and home=\/home\/<old name> keeps a playlabs home/);
  });
});

describe("ENV PLAYLABS_PLUGINS of the image the inventory names (E18)", () => {
  /** A docker that knows one image: what `docker image inspect` prints for it. */
  function fakeDocker(image: string, env: string[]): string {
    const bin = join(work, `bin${++count}`);
    mkdirSync(bin);
    const config = JSON.stringify({ Env: env });
    writeFileSync(join(bin, "docker"), `#!/bin/sh\nfor last; do :; done\n[ "$last" = '${image}' ] || exit 1\nprintf '%s\\n' '${config}'\n`);
    chmodSync(join(bin, "docker"), 0o755);
    return bin;
  }

  it("selects the plugins and the uwsgi spooler of an image named in the inventory", () => {
    const bin = fakeDocker("reg.example.com/app:from-inventory", ["PLAYLABS_PLUGINS=postgres,uwsgi", "UWSGI_SPOOLER_NAMES=mail", "UWSGI_SPOOLER_MOUNT=/spool"]);
    const dir = inventory({ [PROJECT]: "yp_prod_image: reg.example.com/app:from-inventory\n" });
    const env = { PATH: `${bin}:${process.env["PATH"] ?? ""}` };
    const values = explain(["-i", dir, "prefix=yp", "instance=prod", "plugins", "uwsgi_spooler_mount"], env);
    assert.match(values.get("plugins") ?? "", /\["postgres","uwsgi"\] {2}<- image ENV PLAYLABS_PLUGINS/);
    assert.match(values.get("uwsgi_spooler_mount") ?? "", /"\/spool" {2}<- image ENV UWSGI_SPOOLER_MOUNT/);
    // With -p given too, the uwsgi keys still come from the image.
    const bundle = render(["-i", dir, "prefix=yp", "instance=prod", "-p", "uwsgi"], env);
    assert.match(bundle.read("hooks/01-uwsgi/deploy.pre.sh"), /spooler\/mail/);
  });

  it("plc check and build read the ENV of the image named on the command line, asking docker once", () => {
    // build and check start the inspection before load; load must take its answer, not ask again.
    const bin = join(work, `bin${++count}`);
    mkdirSync(bin);
    const calls = join(bin, "calls");
    const config = JSON.stringify({ Env: ["PLAYLABS_PLUGINS=postgres,uwsgi"] });
    writeFileSync(join(bin, "docker"), `#!/bin/sh\necho "$*" >> '${calls}'\nfor last; do :; done\n[ "$last" = 'reg.example.com/app:argv' ] || exit 1\nprintf '%s\\n' '${config}'\n`);
    chmodSync(join(bin, "docker"), 0o755);
    const env = { PATH: `${bin}:${process.env["PATH"] ?? ""}` };
    const words = ["image=reg.example.com/app:argv", "prefix=yp", "instance=prod", "backup_password=x"];
    const checked = plc(["check", ...words], env);
    assert.equal(checked.status, 0, checked.stderr);
    assert.match(checked.stdout, /postgres/);
    assert.doesNotMatch(checked.stderr, /could not be read/);
    const built = plc(["build", "-o", join(work, `dist${++count}`), ...words], env);
    assert.equal(built.status, 0, built.stderr);
    assert.doesNotMatch(built.stderr, /could not be read/);
    assert.deepEqual(readFileSync(calls, "utf8").trim().split("\n"), Array.from({ length: 2 }, () => "image inspect --format {{json .Config}} -- reg.example.com/app:argv"));
  });

  it("says so when the image config cannot be read", () => {
    const dir = inventory({ [PROJECT]: "yp_prod_image: reg.example.com/app:unknown\n" });
    const result = plc(["check", "-i", dir, "prefix=yp", "instance=prod"], { PATH: `${fakeDocker("other/image:1", [])}:${process.env["PATH"] ?? ""}` });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /note: the config of reg\.example\.com\/app:unknown could not be read .*ENV PLAYLABS_PLUGINS/);
  });
});
