// The real nginx on a sandbox host, and a client that asks through it for as long as a deploy runs.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SandboxHost } from "./sandbox.js";

/** Debian's own nginx.conf (the sandbox's private /etc/nginx), running, and reloaded by `systemctl reload nginx`. */
export function startNginx(host: SandboxHost): void {
  const onReload = join(host.state, "systemd", "on-reload");
  mkdirSync(onReload, { recursive: true });
  writeFileSync(join(onReload, "nginx"), "#!/bin/sh\nexec nginx -s reload\n");
  chmodSync(join(onReload, "nginx"), 0o755);
  host.must("rm -f /etc/nginx/sites-enabled/default && nginx");
}

/** A client asking through nginx, one new connection per request, until stopped; returns "body code" lines. */
export function client(host: SandboxHost, dns: string): { stop: () => Promise<string[]> } {
  host.must("rm -f /root/stop /root/answers && : >/root/answers");
  const loop = host.spawn(
    `while [ ! -e /root/stop ]; do printf '%s\\n' "$(curl -s --max-time 5 -H 'Host: ${dns}' -w ' %{http_code}' http://127.0.0.1/ | tr -d '\\n')" >>/root/answers; done`,
  );
  // Until it has answers, so the deploy starts while it asks.
  for (let i = 0; i < 200 && host.read("/root/answers").split("\n").length < 6; i++) host.must("sleep 0.02");
  return {
    stop: async () => {
      host.must("sleep 0.3 && touch /root/stop");
      await loop.done;
      return host.read("/root/answers").split("\n").filter((line) => line !== "");
    },
  };
}
