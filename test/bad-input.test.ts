// The bad-input catalogue: exit 2, a message naming the variable and where it came from, nothing written.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CLI, FIXTURES } from "./fixtures.js";

interface BadCase {
  name: string;
  args: string[];
  code: string;
  /** Fragments stderr must hold: the variable, the location, the hint. */
  mentions: string[];
}

const CASES: BadCase[] = [
  { name: "unknown variable, nearest name", args: ["image=nginx:1", "imag=nginx:2"], code: "unknown-variable", mentions: ["'imag'", "argv[2] 'imag=…'", "did you mean 'image'"] },
  { name: "instance with a slash", args: ["image=nginx:1", "instance=feature/login"], code: "invalid-instance-name", mentions: ["instance", "argv[2]", "instance=feature-login"] },
  { name: "prefix with a path traversal", args: ["image=nginx:1", "prefix=../etc"], code: "invalid-instance-name", mentions: ["prefix '../etc'", "argv[2]", "prefix=etc"] },
  { name: "dns with a space", args: ["image=nginx:1", "dns=my site.example.com"], code: "invalid-format", mentions: ["dns.0", "'my site.example.com'", "argv[2]"] },
  { name: "dns with a semicolon", args: ["image=nginx:1", "dns=evil.com;include /etc/passwd"], code: "invalid-format", mentions: ["dns.0", "argv[2]", "host name"] },
  { name: "env key with a dash", args: ["image=nginx:1", "env.MY-KEY=1"], code: "invalid-env-key", mentions: ["env.MY-KEY", "argv[2]", "MY_KEY"] },
  { name: "env key the docker client would read", args: ["image=nginx:1", "env.LD_PRELOAD=/tmp/x.so"], code: "reserved-env-key", mentions: ["env.LD_PRELOAD", "is reserved", "argv[2]"] },
  // Sourcing the env file would redefine them in root's scripts (security review C30-C32).
  { name: "env PATH", args: ["image=nginx:1", "env.PATH=/home/project-staging/log:/usr/bin", "secret_env=PATH"], code: "reserved-env-key", mentions: ["env.PATH", "is reserved", "shell", "argv[2]"] },
  { name: "env IFS", args: ["image=nginx:1", "env.IFS=x"], code: "reserved-env-key", mentions: ["env.IFS", "is reserved", "argv[2]"] },
  { name: "env HOME", args: ["image=nginx:1", "env.HOME=/root"], code: "reserved-env-key", mentions: ["env.HOME", "is reserved", "argv[2]"] },
  { name: "env PLC_* (plc's own secrets)", args: ["image=nginx:1", "env.PLC_BACKUP_PASSWORD=x", "backup_password=y"], code: "reserved-env-key", mentions: ["env.PLC_BACKUP_PASSWORD", "PLC_* names", "argv[2]"] },
  { name: "env RESTIC_*", args: ["image=nginx:1", "env.RESTIC_REPOSITORY=/tmp/r"], code: "reserved-env-key", mentions: ["env.RESTIC_REPOSITORY", "RESTIC_* names", "argv[2]"] },
  { name: "env LFTP_*", args: ["image=nginx:1", "env.LFTP_PASSWORD=x"], code: "reserved-env-key", mentions: ["env.LFTP_PASSWORD", "LFTP_* names", "argv[2]"] },
  { name: "env key the docker client would read, in JSON", args: ["image=nginx:1", '{"env":{"DOCKER_HOST":"tcp://evil:2375"}}'], code: "reserved-env-key", mentions: ["env.DOCKER_HOST", "docker client", "argv[2]"] },
  // install.sh chmods the home 0755 and uninstall --purge removes it (C37).
  { name: "home /root", args: ["image=nginx:1", "home=/root"], code: "invalid-format", mentions: ["home '/root'", "argv[2]", "/srv/<name>"] },
  { name: "home /", args: ["image=nginx:1", "home=/"], code: "invalid-format", mentions: ["home '/'", "argv[2]"] },
  { name: "home /home", args: ["image=nginx:1", "home=/home"], code: "invalid-format", mentions: ["home '/home'", "argv[2]"] },
  { name: "home /etc/nginx, under a system directory", args: ["image=nginx:1", "home=/etc/nginx"], code: "invalid-format", mentions: ["home '/etc/nginx'", "argv[2]"] },
  { name: "home /var/lib", args: ["image=nginx:1", "home=/var/lib"], code: "invalid-format", mentions: ["home '/var/lib'", "argv[2]"] },
  { name: "home with a '.' component", args: ["image=nginx:1", "home=/home/x/."], code: "invalid-format", mentions: ["home '/home/x/.'", "argv[2]"] },
  { name: "home with a '..' component", args: ["image=nginx:1", "home=/srv/../etc"], code: "invalid-format", mentions: ["home '/srv/../etc'", "argv[2]"] },
  { name: "home with a trailing slash", args: ["image=nginx:1", "home=/srv/app/"], code: "invalid-format", mentions: ["home '/srv/app/'", "argv[2]"] },
  { name: "JSON argument that is a list", args: ["image=nginx:1", "[1,2]"], code: "json-not-object", mentions: ["argv[2] (JSON argument)", "object"] },
  { name: "JSON argument that does not parse", args: ["image=nginx:1", "{\"env\":"], code: "invalid-json", mentions: ["argv[2]"] },
  { name: "image that is not a reference", args: ["image=Not An Image!"], code: "invalid-image", mentions: ["image 'Not An Image!'", "argv[1]", "repository[:tag]"] },
  { name: "missing image", args: ["prefix=app"], code: "required-variable", mentions: ["'image' is required", "image=REPOSITORY:TAG"] },
  { name: "NUL in a value", args: ["image=nginx:1", "{\"env\":{\"A\":\"x\\u0000y\"}}"], code: "invalid-text", mentions: ["env.A holds a NUL", "argv[2]"] },
  { name: "lone surrogate in a value", args: ["image=nginx:1", "{\"env\":{\"A\":\"\\ud800\"}}"], code: "invalid-text", mentions: ["malformed unicode", "argv[2]"] },
  { name: "lftp DSN with a shell escape", args: ["image=nginx:1", "backup_password=x", "lftp_dsn=sftp://u@host/x;!sh"], code: "invalid-format", mentions: ["lftp_dsn", "argv[3]"] },
  { name: "htaccess user with a colon", args: ["image=nginx:1", "dns=a.example.com", "{\"htaccess\":[{\"user\":\"a:b\",\"password\":\"x\"}]}"], code: "invalid-value", mentions: ["htaccess.0.user", "argv[3]"] },
  { name: "port out of range", args: ["image=nginx:1", "port=70000"], code: "invalid-value", mentions: ["port", "argv[2]", "<= 65535"] },
  { name: "bad ship target", args: ["image=nginx:1", "@bad host"], code: "invalid-target", mentions: ["ship target", "argv[2]"] },
  {
    name: "missing inventory directory",
    args: ["-i", "/nonexistent/plc-inventory", "prefix=app"],
    code: "missing-inventory",
    mentions: ["/nonexistent/plc-inventory", "-i"],
  },
  {
    name: "invalid YAML, with its line",
    args: ["-i", join(FIXTURES, "bad-yaml", "inventory"), "prefix=yourproject", "instance=production"],
    code: "invalid-yaml",
    mentions: ["group_vars/all/project.yml:2:"],
  },
  {
    name: "unknown inventory variable, located in its file",
    args: ["-i", join(FIXTURES, "bad-inventory-variable", "inventory"), "prefix=yourproject", "instance=production"],
    code: "unknown-variable",
    mentions: ["'backup_pasword'", "group_vars/all/project.yml:2:40", "did you mean 'backup_password'"],
  },
  { name: "unknown plugin, nearest name", args: ["image=nginx:1", "-p", "postgre"], code: "unknown-plugin", mentions: ["'postgre'", "argv[3]", "did you mean 'postgres'"] },
  {
    name: "plugin cycle, named",
    args: ["image=nginx:1", "--plugins-dir", join(FIXTURES, "bad-plugins-cycle"), "-p", "alpha,beta"],
    code: "plugin-cycle",
    mentions: ["alpha -> beta -> alpha", "argv[5]"],
  },
  {
    name: "plugin requirement missing",
    args: ["image=nginx:1", "--plugins-dir", join(FIXTURES, "bad-plugins-requires"), "plugins=needs-db"],
    code: "plugin-requires",
    mentions: ["'needs-db' requires 'postgres'", "argv[4]", "-p postgres,needs-db"],
  },
  {
    name: "plugin.yml that does not match the plugin schema",
    args: ["image=nginx:1", "--plugins-dir", join(FIXTURES, "bad-plugins-schema")],
    code: "plugin-manifest",
    mentions: ["broken/plugin.yml:3:1", "manifest /volumes"],
  },
  {
    name: "hook template with an error, its file and line",
    args: ["image=nginx:1", "--plugins-dir", join(FIXTURES, "bad-plugins-template"), "-p", "oops"],
    code: "lint-unclosed-call",
    mentions: ["oops/deploy.pre.sh.ejs:3"],
  },
  {
    name: "external hook template that prints a helper's output inside double quotes, its file and line",
    args: ["image=nginx:1", "--plugins-dir", join(FIXTURES, "bad-plugins-quoting"), "-p", "unsafe"],
    code: "lint-quoted-output",
    mentions: ["unsafe/deploy.pre.sh.ejs:2:15", 'helper output inside "…"'],
  },
  {
    name: "image archive that is not one",
    args: ["image=nginx:1", "--image-archive", join(FIXTURES, "bad-image-archive.tar")],
    code: "image-archive-invalid",
    mentions: ["bad-image-archive.tar is not a docker image archive", "--image-archive"],
  },
  {
    // docker load would name it betagouv/mrs:master; the host would then pull betagouv/mrs:v2.
    name: "image archive that does not hold the image's tag",
    args: ["image=betagouv/mrs:v2", "--image-archive", join(FIXTURES, "image-archive", "app.tar")],
    code: "archive-image-mismatch",
    mentions: ["holds betagouv/mrs:master, not betagouv/mrs:v2", "argv[1] 'image=…'", "docker save betagouv/mrs:v2"],
  },
  {
    name: "image archive with an image named by digest",
    args: [`image=betagouv/mrs@sha256:${"a".repeat(64)}`, "--image-archive", join(FIXTURES, "image-archive", "app.tar")],
    code: "archive-image-digest",
    mentions: ["named by tag, not by digest", "argv[1] 'image=…'"],
  },
  {
    name: "django in production without SECRET_KEY says how to set it",
    args: ["image=nginx:1", "instance=production", "-p", "django"],
    code: "plugin-secret-missing",
    mentions: ["env.SECRET_KEY", "argv[2]", "give env.SECRET_KEY="],
  },
  {
    name: "plugin variable of the wrong type, located",
    args: ["image=nginx:1", "-p", "postgres", "postgres_ready_timeout=soon"],
    code: "invalid-value",
    mentions: ["postgres_ready_timeout", "argv[4]", "expected integer"],
  },
  {
    name: "an error raised while a hook renders names its message, file and line (a secret DB_USER the postgres hooks would print)",
    args: ["image=nginx:1", "-p", "postgres", "secret_env=DB_USER", "env.DB_USER=app"],
    code: "template-render",
    mentions: ["env.DB_USER cannot be secret: the postgres hooks name it", "postgres/_db.sh.ejs:"],
  },
  {
    name: "blue-green without a vhost: it switches nginx's upstream",
    args: ["image=nginx:1", "deploy_strategy=blue-green"],
    code: "blue-green-without-dns",
    mentions: ["deploy_strategy blue-green", "needs a vhost (dns)", "argv[2] 'deploy_strategy=…'", "set dns=example.com, or deploy_strategy=recreate"],
  },
  {
    name: "blue-green whose second slot would be port 65536",
    args: ["image=nginx:1", "dns=app.example.com", "deploy_strategy=blue-green", "host_port=65535"],
    code: "blue-green-port",
    mentions: ["host_port + 1", "argv[4] 'host_port=…'"],
  },
];

describe("bad input", () => {
  for (const badCase of CASES) {
    it(badCase.name, () => {
      const out = mkdtempSync(join(tmpdir(), "plc-bad-"));
      try {
        const result = spawnSync(process.execPath, [CLI, "build", "-o", join(out, "dist"), ...badCase.args], {
          encoding: "utf8",
          cwd: out,
          env: { ...process.env, NO_COLOR: "1" },
        });
        assert.equal(result.status, 2, `exit status; stderr:\n${result.stderr}`);
        assert.match(result.stderr, new RegExp(`error\\[${badCase.code}\\]`));
        // Cases say argv[N] for their N-th argument; on this command line `build -o DIR` come first.
        const mentions = badCase.mentions.map((m) => m.replace(/argv\[(\d+)\]/, (_, n: string) => `argv[${Number(n) + 2}]`));
        for (const fragment of mentions) assert.ok(result.stderr.includes(fragment), `stderr lacks ${JSON.stringify(fragment)}:\n${result.stderr}`);
        assert.equal(result.stdout, "");
        assert.ok(!existsSync(join(out, "dist")) || readdirSync(join(out, "dist")).length === 0, "nothing written");
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  }
});

describe("plc render", () => {
  it("refuses to replace a non-empty folder that is not an earlier render, and replaces one that is", () => {
    const dir = mkdtempSync(join(tmpdir(), "plc-render-"));
    try {
      writeFileSync(join(dir, "precious.txt"), "keep me\n");
      const render = (out: string) => spawnSync(process.execPath, [CLI, "render", "-o", out, "image=nginx:1"], { encoding: "utf8", cwd: dir });
      const refused = render(".");
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, /is not empty and holds no earlier render/);
      assert.equal(readFileSync(join(dir, "precious.txt"), "utf8"), "keep me\n");
      assert.equal(render("out").status, 0);
      assert.equal(render("out").status, 0, "an earlier render is replaced");
      assert.ok(existsSync(join(dir, "out", "install.sh")));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("ship targets from the inventory", () => {
  it("an ansible_host or ansible_user that ssh would read as an option is refused, located, exit 2; a good one gets `--` before it", () => {
    const dir = mkdtempSync(join(tmpdir(), "plc-ship-targets-"));
    try {
      const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
      const inventory = (name: string, vars: string): string => {
        const path = join(dir, name);
        spawnSync("mkdir", ["-p", path]);
        writeFileSync(join(path, "inventory.yml"), `all:\n  children:\n    ybs-hack:\n      hosts:\n        web1:\n${vars}`);
        return path;
      };
      const cases: [string, RegExp][] = [
        [`          ansible_host: "-V"\n`, /host web1: '-V' is not an ssh address[\s\S]*inventory\.yml:6:25/],
        [`          ansible_host: "-oProxyCommand=touch /tmp/plc-pwned"\n`, /is not an ssh address[\s\S]*inventory\.yml:6:25/],
        [`          ansible_host: 10.0.0.5\n          ansible_user: "-oProxyCommand=x"\n`, /'-oProxyCommand=x' is not an ssh login name[\s\S]*inventory\.yml:7:25/],
      ];
      for (const [index, [vars, pattern]] of cases.entries()) {
        const result = run(["ship", "--dry-run", "-i", inventory(`bad${index}`, vars), "image=nginx:1", "prefix=ybs", "instance=hack"]);
        assert.equal(result.status, 2, result.stdout + result.stderr);
        assert.match(result.stderr, pattern);
        assert.equal(result.stdout, "");
      }
      const good = run(["ship", "--dry-run", "-i", inventory("good", "          ansible_host: 10.0.0.5\n          ansible_user: deploy\n"), "image=nginx:1", "prefix=ybs", "instance=hack"]);
      assert.equal(good.status, 0, good.stderr);
      assert.match(good.stdout, / -l deploy -- 10\.0\.0\.5 /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("plc ship BUNDLE that is not there", () => {
  it("is a located exit 2, never a build whose image is the mistyped path", () => {
    const dir = mkdtempSync(join(tmpdir(), "plc-ship-typo-"));
    try {
      const result = spawnSync(process.execPath, [CLI, "ship", "--dry-run", "dist/typo.tar.gz", "@somehost"], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
      assert.equal(result.status, 2, result.stdout + result.stderr);
      assert.match(result.stderr, /error\[bundle-missing\]: bundle dist\/typo\.tar\.gz does not exist/);
      assert.match(result.stderr, /argv\[1\]/);
      assert.equal(result.stdout, "");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("dns names validation accepts", () => {
  it("build, whatever their characters: a wildcard or an IPv6 address as the first name names a vhost file", () => {
    const dir = mkdtempSync(join(tmpdir(), "plc-dns-"));
    try {
      for (const [dns, file] of [["*.example.com", "_.example.com.conf"], ["::1", "__1.conf"]] as const) {
        const result = spawnSync(process.execPath, [CLI, "render", "-o", join(dir, file), "image=nginx:1", `dns=${dns}`], { encoding: "utf8" });
        assert.equal(result.status, 0, `${dns}: ${result.stderr}`);
        assert.ok(existsSync(join(dir, file, "nginx", file)), `${dns}: nginx/${file}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("an empty vault password file", () => {
  it("is a named exit 2 (it was an internal error), nothing written", () => {
    const dir = mkdtempSync(join(tmpdir(), "plc-vault-empty-"));
    try {
      writeFileSync(join(dir, "vault-password"), "");
      const result = spawnSync(process.execPath, [CLI, "build", "-o", join(dir, "out"), "--vault-password-file", join(dir, "vault-password"), "image=nginx:1"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, /error\[vault-password-invalid\]: vault password file '.*vault-password': the vault password file is empty/);
      assert.match(result.stderr, /--> --vault-password-file/);
      assert.ok(!existsSync(join(dir, "out")), "nothing written");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
