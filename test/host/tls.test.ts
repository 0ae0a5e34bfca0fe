// HTTPS on a sandbox host, offline: certificates from pebble through uacme (first issue, renewal by the
// timer's service, re-issue for a new name, DNS not ready yet), from files, and self-signed; the real
// nginx serves them, and nginx -t / systemd-analyze verify check every generated file.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, it, type TestContext } from "node:test";
import { httpsUrlOf } from "../../compiler/ship/transport.js";
import { ACME_DIRECTORY, runNginx, startAcmeHost } from "./acme.js";
import { SandboxHost, buildBundle, install, mustInstall, q, requireSandbox, unpack, type Bundle } from "./sandbox.js";

const NAME = "ybs-hack";
const HOME = `/home/${NAME}`;
const IMAGE = "betagouv/mrs:v1";
const BASE = [`image=${IMAGE}`, "prefix=ybs", "instance=hack", "healthcheck_timeout=5"];
const CERT = (first: string) => `${HOME}/tls/${first}/cert.pem`;
const KEY = (first: string) => `${HOME}/tls/private/${first}/key.pem`;
const TOOLS = ["nginx", "pebble", "pebble-challtestsrv", "uacme", "openssl"];

function acmeArgs(listenerCa: string, names: string[]): string[] {
  return [
    ...BASE,
    "letsencrypt_email=ops@example.com",
    `acme_directory=${ACME_DIRECTORY}`,
    JSON.stringify({ acme_ca_roots: listenerCa, dns: names.slice(0, 1), dns_redirect: names.slice(1) }),
  ];
}

/** The tarball's every byte, uncompressed: what a public release would publish. */
function tarballText(bundle: Bundle): string {
  const result = spawnSync("tar", ["-xzOf", bundle.tarball], { encoding: "latin1", maxBuffer: 64 * 1024 * 1024 });
  assert.equal(result.status, 0);
  return result.stdout;
}

/** Polls every process's argv on the host while `run` runs; returns what was seen. */
async function watchArgv(host: SandboxHost, run: () => void): Promise<string> {
  const log = `${host.dir}/argv.log`;
  const poller = host.spawn(`while [ ! -e ${q(`${host.dir}/argv.stop`)} ]; do ps -eo args= >>${q(log)}; sleep 0.02; done`);
  try {
    run();
  } finally {
    host.must(`touch ${q(`${host.dir}/argv.stop`)}`);
    await poller.done;
  }
  return readFileSync(log, "utf8");
}

function curl(host: SandboxHost, args: string): string {
  return host.must(`curl -s -o /dev/null -w '%{http_code} %{redirect_url}' ${args}`);
}

/** Issuer and names of the certificate nginx serves for `name` on 443. */
function served(host: SandboxHost, name: string): string {
  return host.must(
    `echo | openssl s_client -connect 127.0.0.1:443 -servername ${q(name)} 2>/dev/null | openssl x509 -noout -issuer -fingerprint -ext subjectAltName`,
  );
}

function nginxT(host: SandboxHost, t: TestContext): void {
  const test = host.sh("nginx -t");
  assert.equal(test.status, 0, test.stderr);
  t.diagnostic(test.stderr.trim());
}

describe("HTTPS through ACME (pebble)", () => {
  it("issues on the first deploy, redirects HTTP while serving the challenge, renews by the timer's service, re-issues for a new name", async (t) => {
    if (!requireSandbox(t, ...TOOLS)) return;
    const { host, listenerCa, resolve, trustIssuer } = await startAcmeHost(() => SandboxHost.start(t));
    host.image(IMAGE, { body: "hello over https\n" });
    resolve("ybs.example.com");
    const first = buildBundle([...acmeArgs(listenerCa, ["ybs.example.com"]), '{"htaccess":[{"user":"alice","password":"pw"}]}']);
    const argv = await watchArgv(host, () => {
      const out = mustInstall(host, first);
      assert.match(out, /certificate issued for ybs\.example\.com/);
      // plc ship's report takes the HTTPS address from this line.
      const urls = out.split("\n").map(httpsUrlOf).filter((url) => url !== undefined);
      assert.deepEqual(urls, ["https://ybs.example.com/"], out);
    });
    // acme_ca_roots were trusted by uacme alone: the host's own trust store never learnt them.
    assert.notEqual(host.sh(`curl -s -o /dev/null ${ACME_DIRECTORY}`).status, 0);
    trustIssuer();
    assert.match(served(host, "ybs.example.com"), /issuer=CN ?= ?Pebble Intermediate CA/);
    assert.match(host.must(`stat -c '%a %U' ${KEY("ybs.example.com")}`), /^[46]00 root\n$/, "the key is root's alone");
    nginxT(host, t);

    // 443 proxies with auth; 80 redirects everything but the challenge, which needs no auth.
    assert.equal(curl(host, "https://ybs.example.com/"), "401 ");
    assert.equal(host.must("curl -sf -u alice:pw https://ybs.example.com/"), "hello over https\n");
    assert.match(host.must("curl -sf -D - -o /dev/null -u alice:pw https://ybs.example.com/"), /^strict-transport-security: max-age=31536000/im);
    assert.equal(curl(host, "http://ybs.example.com/some/path?x=1"), "301 https://ybs.example.com/some/path?x=1");
    host.must(`printf token-body >${HOME}/acme-challenge/probe-by-test && chmod 0644 ${HOME}/acme-challenge/probe-by-test`);
    assert.equal(host.must("curl -sf http://ybs.example.com/.well-known/acme-challenge/probe-by-test"), "token-body");

    // Nothing secret in the tarball or in any argv during the deploy: the key only ever in its 0600 file.
    const key = host.read(KEY("ybs.example.com"));
    const keyLine = key.split("\n")[1] ?? "";
    assert.ok(keyLine.length > 20);
    assert.doesNotMatch(tarballText(first), /PRIVATE KEY/);
    assert.ok(!argv.includes(keyLine), "no line of the private key in any process's argv");
    assert.doesNotMatch(argv, /PRIVATE KEY/);

    // The units pass systemd-analyze verify.
    const verify = host.sh(`cd /etc/systemd/system && systemd-analyze verify tls-${NAME}.service tls-${NAME}.timer`);
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr, "");
    assert.ok(existsSync(`${host.state}/systemd/enabled/tls-${NAME}.timer`), "the renewal timer is enabled");

    // An expiring certificate: --check warns; the timer's service renews it and nginx serves the new one.
    host.must(
      `openssl req -x509 -key ${KEY("ybs.example.com")} -days 3 -subj /CN=ybs.example.com -addext subjectAltName=DNS:ybs.example.com -out ${CERT("ybs.example.com")} 2>/dev/null && nginx -s reload && sleep 0.5`,
    );
    const before = served(host, "ybs.example.com");
    assert.doesNotMatch(before, /Pebble/);
    const check = host.sh(`sh ${HOME}/current/install.sh --check`);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stderr, /WARNING: the certificate of ybs\.example\.com expires within 14 days/);
    host.must(`systemctl start tls-${NAME}.service`);
    assert.match(host.read(`${host.state}/systemd/runs/tls-${NAME}.service.log`), /certificate issued/);
    assert.match(served(host, "ybs.example.com"), /Pebble Intermediate CA/);
    assert.doesNotMatch(host.sh(`sh ${HOME}/current/install.sh --check`).stderr, /expires within/);

    // A name added to dns_redirect: the next deploy re-issues for both, and the new name redirects over HTTPS.
    resolve("old.example.com");
    mustInstall(host, buildBundle([...acmeArgs(listenerCa, ["ybs.example.com", "old.example.com"]), '{"htaccess":[{"user":"alice","password":"pw"}]}']));
    assert.match(served(host, "old.example.com"), /DNS:old\.example\.com/);
    assert.equal(curl(host, "https://old.example.com/x"), "301 https://ybs.example.com/x");
    assert.equal(curl(host, "http://old.example.com/x"), "301 https://ybs.example.com/x");
    nginxT(host, t);
  });

  it("deploys over HTTP and says so loudly while DNS does not point at the host, then issues once it does", async (t) => {
    if (!requireSandbox(t, ...TOOLS)) return;
    const { host, listenerCa, resolve, trustIssuer } = await startAcmeHost(() => SandboxHost.start(t));
    host.image(IMAGE, { body: "plain for now\n" });
    const bundle = buildBundle(acmeArgs(listenerCa, ["late.example.com"]));
    const result = install(host, bundle);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /WARNING: HTTPS is NOT on: .* late\.example\.com \(DNS not pointing here yet\?\)/);
    assert.ok(!host.exists(CERT("late.example.com")));
    assert.equal(host.must("curl -sf -H 'Host: late.example.com' http://127.0.0.1/"), "plain for now\n");
    assert.equal(host.sh("curl -s https://127.0.0.1/ -o /dev/null").status !== 0, true, "nothing on 443 yet");
    assert.ok(!host.exists(`${HOME}/tls/private/key.pem`), "the CA was never asked: not even an account was made");

    resolve("late.example.com");
    host.must(`systemctl start tls-${NAME}.service`);
    trustIssuer();
    assert.match(served(host, "late.example.com"), /Pebble Intermediate CA/);
    assert.equal(host.must("curl -sf https://late.example.com/"), "plain for now\n");
    assert.equal(curl(host, "http://late.example.com/"), "301 https://late.example.com/");
  });
});

describe("HTTPS from files and self-signed", () => {
  it("tls=files installs the certificate and key from the secrets (0600, never in the tarball or an argv)", async (t) => {
    if (!requireSandbox(t, "nginx", "openssl")) return;
    const host = await SandboxHost.start(t);
    host.image(IMAGE, { body: "from files\n" });
    const dir = `${host.dir}/pki`;
    host.must(`mkdir -p ${dir} && cd ${dir} &&
      openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=files-ca -keyout ca.key -out ca.pem 2>/dev/null &&
      openssl req -newkey rsa:2048 -nodes -subj /CN=files.example.com -keyout site.key -out site.csr 2>/dev/null &&
      printf 'subjectAltName=DNS:files.example.com\\n' >ext &&
      openssl x509 -req -in site.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile ext -out site.pem 2>/dev/null`);
    const certificate = readFileSync(`${dir}/site.pem`, "utf8");
    const key = readFileSync(`${dir}/site.key`, "utf8");
    const bundle = buildBundle([...BASE, "dns=files.example.com", "tls=files", JSON.stringify({ tls_certificate: certificate, tls_key: key })]);
    assert.doesNotMatch(tarballText(bundle), /PRIVATE KEY/);
    assert.match(readFileSync(bundle.secrets, "utf8"), /^PLC_TLS_KEY='-----BEGIN PRIVATE KEY-----$/m);
    runNginx(host);
    const argv = await watchArgv(host, () => {
      mustInstall(host, bundle);
    });
    const keyLine = key.split("\n")[1] ?? "";
    assert.ok(!argv.includes(keyLine), "no line of the private key in any process's argv");
    assert.equal(host.read(KEY("files.example.com")), key);
    assert.match(host.must(`stat -c '%a %U' ${KEY("files.example.com")} ${HOME}/tls`), /^600 root\n700 root\n$/);
    assert.equal(host.must(`curl -sf --cacert ${dir}/ca.pem --resolve files.example.com:443:127.0.0.1 https://files.example.com/`), "from files\n");
    assert.match(host.must(`curl -sf -D - -o /dev/null --cacert ${dir}/ca.pem --resolve files.example.com:443:127.0.0.1 https://files.example.com/`), /strict-transport-security/i);
    nginxT(host, t);
  });

  it("tls=self-signed makes a certificate on the host and sends no HSTS", async (t) => {
    if (!requireSandbox(t, "nginx", "openssl")) return;
    const host = await SandboxHost.start(t);
    host.image(IMAGE, { body: "self-signed\n" });
    runNginx(host);
    const out = mustInstall(host, buildBundle([...BASE, "dns=self.example.com", "dns_redirect=www.self.example.com", "tls=self-signed"]));
    assert.match(out, /self-signed certificate made for self\.example\.com www\.self\.example\.com/);
    const headers = host.must(`curl -sf -D - -k --resolve self.example.com:443:127.0.0.1 https://self.example.com/`);
    assert.match(headers, /self-signed/);
    assert.doesNotMatch(headers, /strict-transport-security/i);
    assert.equal(curl(host, "-k --resolve www.self.example.com:443:127.0.0.1 https://www.self.example.com/a"), "301 https://self.example.com/a");
    assert.equal(curl(host, "-H 'Host: self.example.com' http://127.0.0.1/a"), "301 https://self.example.com/a");
    nginxT(host, t);
    // Every generated vhost variant passes nginx -t, the 1.25+ `http2 on;` form only where nginx knows it.
    const release = unpack(host, buildBundle([...BASE, "dns=self.example.com", "dns_redirect=www.self.example.com", "tls=acme", "letsencrypt_email=a@example.com"]));
    for (const variant of ["nginx", "nginx/https"]) {
      host.must(`cp ${q(`${release}/${variant}/self.example.com.conf`)} /etc/nginx/sites-enabled/self.example.com.conf`);
      nginxT(host, t);
    }
  });
});
