// An ACME CA inside a sandbox host: pebble (Let's Encrypt's test server) and pebble-challtestsrv as the
// host's DNS server, on the loopback of the host's own network namespace. Only that host trusts pebble:
// its issuing root goes into a private copy of the system bundle, never the machine's.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SandboxHost, q } from "./sandbox.js";

export const ACME_DIRECTORY = "https://127.0.0.1:14000/dir";

export interface AcmeHost {
  host: SandboxHost;
  /** The CA of pebble's own HTTPS listener: what acme_ca_roots gives uacme. */
  listenerCa: string;
  /** Makes a name resolve to this host (pebble's validation and the host's resolver both ask challtestsrv). */
  resolve: (name: string) => void;
  /** Trusts pebble's current issuing roots inside the host (curl, nginx checks): pebble makes new ones per start. */
  trustIssuer: () => void;
}

/**
 * Starts the real nginx of the host (its own network namespace: ports 80 and 443 are its own). A reload
 * through the systemctl shim reaches it (a wrapper in front of the shim), so what install.sh and the
 * renewal unit install is what answers.
 */
export function runNginx(host: SandboxHost): void {
  const wrapper = join(host.dir, "systemctl");
  writeFileSync(
    wrapper,
    `#!/bin/sh
# nginx runs for real in this host: its reload reaches it, then the shim records it.
if [ "$1" = reload ] && [ "$2" = nginx ]; then nginx -s reload || exit 1; sleep 0.5; fi
exec /usr/local/sbin/systemctl.shim "$@"
`,
  );
  host.must(`cp /usr/local/sbin/systemctl /usr/local/sbin/systemctl.shim && chmod 0755 ${q(wrapper)} && mount --bind ${q(wrapper)} /usr/local/sbin/systemctl && nginx`);
}

/**
 * Starts pebble, challtestsrv and the real nginx in a sandbox host.
 */
export async function startAcmeHost(start: () => Promise<SandboxHost>): Promise<AcmeHost> {
  const host = await start();
  const dir = join(host.dir, "acme");
  host.must(`mkdir -p ${q(dir)} && cd ${q(dir)} &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=plc-test-listener-ca -keyout ca.key -out ca.pem 2>/dev/null &&
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout pebble.key -out pebble.csr 2>/dev/null &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' >ext &&
    openssl x509 -req -in pebble.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext -out pebble.pem 2>/dev/null`);
  writeFileSync(
    join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: "127.0.0.1:14000",
        managementListenAddress: "127.0.0.1:15000",
        certificate: join(dir, "pebble.pem"),
        privateKey: join(dir, "pebble.key"),
        httpPort: 80,
        tlsPort: 5001,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  writeFileSync(join(dir, "resolv.conf"), "nameserver 127.0.0.1\n");
  host.must(`cd ${q(dir)} && mount --bind resolv.conf /etc/resolv.conf &&
    cp /etc/ssl/certs/ca-certificates.crt system-bundle.pem && mount --bind system-bundle.pem /etc/ssl/certs/ca-certificates.crt`);
  // Names resolve only once a test says so: an unknown name gets no address (DNS not ready).
  host.spawn(`exec pebble-challtestsrv -dns01 127.0.0.1:53 -http01 '' -https01 '' -tlsalpn01 '' -management 127.0.0.1:8055 -defaultIPv4 '' -defaultIPv6 '' >${q(dir)}/challtestsrv.log 2>&1`);
  host.spawn(
    `PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 exec pebble -config ${q(dir)}/pebble.json -dnsserver 127.0.0.1:53 >${q(dir)}/pebble.log 2>&1`,
  );
  host.must(`cd ${q(dir)} && for i in $(seq 100); do
    if curl -sf --cacert ca.pem ${ACME_DIRECTORY} >/dev/null && [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8055/)" != 000 ]; then exit 0; fi
    sleep 0.1
  done; cat pebble.log challtestsrv.log; exit 1`);
  runNginx(host);
  const trustIssuer = (): void => {
    host.must(`cd ${q(dir)} && for i in 0 1; do curl -sf --cacert ca.pem https://127.0.0.1:15000/roots/$i >>system-bundle.pem || true; done`);
  };
  trustIssuer();
  return {
    host,
    listenerCa: host.read(`${dir}/ca.pem`),
    resolve: (name) => {
      host.must(`curl -sf -d ${q(JSON.stringify({ host: `${name}.`, addresses: ["127.0.0.1"] }))} http://127.0.0.1:8055/add-a`);
    },
    trustIssuer,
  };
}
