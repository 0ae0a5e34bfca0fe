// What install.sh does for one spec: which of its steps exist and the values they need. The
// template (templates/install.sh.ejs and its partials under install/) only lays the steps out.
import type { HookName, Spec } from "../types.js";

/** A rendered plugin hook: where it lives in the bundle and which plugin it belongs to. */
export interface HookFile {
  plugin: string;
  hook: HookName;
  path: string;
}

/** A slot of a blue-green deploy: the loopback port its container publishes. */
export interface Slot {
  /** docker run --publish's value. */
  publish: string;
  /** nginx's upstream server while this slot is live. */
  server: string;
  healthUrl: string;
}

/**
 * deploy_strategy blue-green: two slots on host_port and host_port + 1. The live container keeps the
 * instance's name (backups, hooks and docker-run.sh find it as always); the next one starts as
 * `<name>.plc-next` in the other slot and takes the name once it runs. nginx reaches the live slot
 * through an upstream include that install.sh rewrites at the switch.
 */
export interface BlueGreen {
  slots: { a: Slot; b: Slot };
  nextContainer: string;
  drainSeconds: number;
  upstream: { name: string; file: string };
}

export function planBlueGreen(spec: Spec): BlueGreen | undefined {
  if (spec.deployStrategy !== "blue-green") return undefined;
  const slot = (port: number): Slot => ({
    publish: `127.0.0.1:${port}:${spec.port}`,
    server: `127.0.0.1:${port}`,
    healthUrl: `http://127.0.0.1:${port}${spec.healthcheckPath}`,
  });
  return {
    slots: { a: slot(spec.hostPort), b: slot(spec.hostPort + 1) },
    nextContainer: `${spec.name}.plc-next`,
    drainSeconds: spec.drainSeconds,
    upstream: { name: `plc-${spec.name}`, file: `/etc/nginx/plc/${spec.name}.upstream.conf` },
  };
}

export interface InstallPlan {
  /** Backups are on: the site is backed up before a deploy changes it, and the restic password is kept. */
  backup: boolean;
  /** The running container's name while it steps aside for the new one. */
  previousContainer: string;
  /** Data directories with their absolute paths, made (or checked) before the container starts. */
  dataDirs: { path: string; owner: "root" | "image"; mode: string }[];
  /** Secrets generated on the host once (keys the build did not give), and how to find each in the file. */
  hostSecrets: { key: string; pattern: string }[];
  /** Plugin hooks around the container's start: pre in plugin order, post in reverse. */
  deployHooks: { pre: DeployHook[]; post: DeployHook[] };
  /** Some hook runs: install.sh defines run_hook. */
  runsHooks: boolean;
  /** The `Host:` header the health check sends, so the app answers as it does behind the vhost. */
  healthHeader: string | undefined;
  /**
   * With a dns name, the web front (`proxy`): host nginx, or playlabs' nginx-proxy container (auto:
   * whichever the host runs), and what that container reads from the app's env.
   */
  front:
    | {
        mode: "auto" | "nginx-proxy" | "host-nginx";
        /** VIRTUAL_HOST: every dns name, redirects included, comma-separated. */
        virtualHost: string;
        virtualPort: string;
        /** LETSENCRYPT_HOST and LETSENCRYPT_EMAIL for the companion, with letsencrypt_email. */
        letsencrypt: { host: string; email: string } | undefined;
      }
    | undefined;
  /** Step 11, with a dns name: the vhost's path, its file name in the release, and the htpasswd's path. */
  vhost: { path: string; file: string; htpasswd: string | undefined } | undefined;
  /** Step 13, with tls on: tls.sh picks the vhost (HTTPS once a certificate exists) and gets the certificate after the switch. */
  tls: { mode: Spec["tls"]["mode"] } | undefined;
  /** deploy_strategy blue-green: the slots, the upstream and the drain; undefined: recreate. */
  blueGreen: BlueGreen | undefined;
  /** The image travels with image.parts: install.sh takes --image-parts DIR, the archive's files plc ship sent. */
  imageParts: boolean;
}

/** A hook install.sh runs, and what it says when the hook fails. */
export interface DeployHook extends HookFile {
  failure: string;
}

export interface InstallInputs {
  spec: Spec;
  backups: boolean;
  vhostFile: string | undefined;
  dataDirs: readonly { path: string; owner: "root" | "image"; mode: string }[];
  hooks: (hook: HookName) => HookFile[];
  blueGreen: BlueGreen | undefined;
}

export function planInstall({ spec, backups, vhostFile, dataDirs, hooks, blueGreen }: InstallInputs): InstallPlan {
  const deployHooks = (hook: HookName): DeployHook[] => hooks(hook).map((file) => ({ ...file, failure: `${file.hook} of ${file.plugin} failed` }));
  const pre = deployHooks("deploy.pre");
  const post = deployHooks("deploy.post");
  return {
    backup: backups,
    previousContainer: `${spec.name}.plc-previous`,
    dataDirs: dataDirs.map((dir) => ({ ...dir, path: `${spec.home}/${dir.path}` })),
    hostSecrets: spec.hostSecretKeys.map((key) => ({ key, pattern: `^${key}=` })),
    deployHooks: { pre, post },
    runsHooks: pre.length + post.length > 0,
    front: vhostFile === undefined ? undefined : frontOf(spec),
    healthHeader: vhostFile === undefined ? undefined : `Host: ${spec.dns[0] ?? ""}`,
    vhost:
      vhostFile === undefined
        ? undefined
        : {
            path: `/etc/nginx/sites-enabled/${vhostFile}`,
            file: vhostFile,
            htpasswd: spec.htaccess.length > 0 ? `/etc/nginx/plc/${spec.name}.htpasswd` : undefined,
          },
    tls: vhostFile === undefined || spec.tls.mode === "off" ? undefined : { mode: spec.tls.mode },
    blueGreen,
    imageParts: spec.imageArchive !== undefined && spec.imageParts !== undefined,
  };
}

/** playlabs' env for nginx-proxy and its letsencrypt companion (roles/project vars.yml). */
function frontOf(spec: Spec): NonNullable<InstallPlan["front"]> {
  const proxy = spec.vars["proxy"];
  const hosts = [...spec.dns, ...spec.dnsRedirect].join(",");
  const email = spec.vars["letsencrypt_email"];
  return {
    mode: proxy === "nginx-proxy" || proxy === "host-nginx" ? proxy : "auto",
    virtualHost: hosts,
    virtualPort: String(spec.port),
    letsencrypt: typeof email === "string" && email !== "" ? { host: hosts, email } : undefined,
  };
}
