// What install.sh does for one spec: which of its steps exist and the values they need. The
// template (templates/install.sh.ejs and its partials under install/) only lays the steps out.
import type { HookName, Spec } from "../types.js";

/** A rendered plugin hook: where it lives in the bundle and which plugin it belongs to. */
export interface HookFile {
  plugin: string;
  hook: HookName;
  path: string;
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
  /** Step 11, with a dns name: the vhost's path, its file name in the release, and the htpasswd's path. */
  vhost: { path: string; file: string; htpasswd: string | undefined } | undefined;
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
}

export function planInstall({ spec, backups, vhostFile, dataDirs, hooks }: InstallInputs): InstallPlan {
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
    healthHeader: vhostFile === undefined ? undefined : `Host: ${spec.dns[0] ?? ""}`,
    vhost:
      vhostFile === undefined
        ? undefined
        : {
            path: `/etc/nginx/sites-enabled/${vhostFile}`,
            file: vhostFile,
            htpasswd: spec.htaccess.length > 0 ? `/etc/nginx/plc/${spec.name}.htpasswd` : undefined,
          },
  };
}
