// `plc diff` on a host where no plc release is installed but the instance runs (a playlabs host):
// what the first plc deploy will change there. The host side prints names and keys only (never an
// env value); this side compares them with the bundle's docker-run.sh, units and vhost.
import { readBundleTarball } from "./load/bundle.js";

/** The first line of the reader's answer when it describes a site instead of printing a manifest. */
export const SITE_MARK = "@@plc-diff site";

/** What runs on a host plc has not deployed to, as the reader reports it. */
export interface Site {
  /** The image of the running container `<name>`; undefined when there is none. */
  image: string | undefined;
  envKeys: string[];
  networks: string[];
  restart: string | undefined;
  logDriver: string | undefined;
  /** Unit files of this instance in /etc/systemd/system (backup-<name>.*, prune-<name>.*). */
  units: string[];
  /** backup-<name>.service enabled for basic.target: a backup at every boot (playlabs). */
  bootBackup: boolean;
  nginxProxy: boolean;
  /** The networks of the nginx-proxy container, which the app joins behind it. */
  proxyNetworks: string[];
  vhosts: string[];
}

/**
 * Shell lines for the reader script ($1 home, $2 name, $sudo set): the site, one `kind<TAB>value` per
 * line after SITE_MARK. Env values are cut at the first `=` on the host.
 */
export function siteReaderLines(): string {
  return `  printf '%s\\n' '${SITE_MARK}'
  tab=$(printf '\\t')
  if $sudo docker container inspect "$name" >/dev/null 2>&1; then
    printf 'image%s%s\\n' "$tab" "$($sudo docker container inspect --format '{{.Config.Image}}' "$name")"
    $sudo docker container inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$name" | sed -n "s/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/env$tab\\1/p"
    # shellcheck disable=SC2016 # a Go template for docker
    for net in $($sudo docker container inspect --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$name"); do printf 'network%s%s\\n' "$tab" "$net"; done
    printf 'restart%s%s\\n' "$tab" "$($sudo docker container inspect --format '{{.HostConfig.RestartPolicy.Name}}' "$name")"
    printf 'log-driver%s%s\\n' "$tab" "$($sudo docker container inspect --format '{{.HostConfig.LogConfig.Type}}' "$name")"
  fi
  for unit in /etc/systemd/system/backup-"$name".* /etc/systemd/system/prune-"$name".*; do
    if [ -f "$unit" ]; then printf 'unit%s%s\\n' "$tab" "\${unit##*/}"; fi
  done
  if [ -e "/etc/systemd/system/basic.target.wants/backup-$name.service" ]; then printf 'boot%sbackup-%s.service\\n' "$tab" "$name"; fi
  if [ "$($sudo docker container inspect --format '{{.State.Running}}' nginx-proxy 2>/dev/null)" = true ]; then
    printf 'nginx-proxy%srunning\\n' "$tab"
    # shellcheck disable=SC2016 # a Go template for docker
    for net in $($sudo docker container inspect --format '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' nginx-proxy); do printf 'proxy-network%s%s\\n' "$tab" "$net"; done
  fi
  for vhost in /etc/nginx/sites-enabled/*; do
    if [ -f "$vhost" ] && grep -q "$name" "$vhost" 2>/dev/null; then printf 'vhost%s%s\\n' "$tab" "\${vhost##*/}"; fi
  done`;
}

export function parseSite(text: string): Site {
  const site: Site = { image: undefined, envKeys: [], networks: [], restart: undefined, logDriver: undefined, units: [], bootBackup: false, nginxProxy: false, proxyNetworks: [], vhosts: [] };
  for (const line of text.split("\n").slice(1)) {
    const [kind = "", value = ""] = line.split("\t");
    if (kind === "image") site.image = value;
    else if (kind === "env") site.envKeys.push(value);
    else if (kind === "network") site.networks.push(value);
    else if (kind === "restart") site.restart = value;
    else if (kind === "log-driver") site.logDriver = value;
    else if (kind === "unit") site.units.push(value);
    else if (kind === "boot") site.bootBackup = true;
    else if (kind === "nginx-proxy") site.nginxProxy = true;
    else if (kind === "proxy-network") site.proxyNetworks.push(value);
    else if (kind === "vhost") site.vhosts.push(value);
  }
  return site;
}

/** What the bundle will run, read from its files (docker-run.sh, systemd/, nginx/). */
export interface BundleSide {
  name: string;
  image: string;
  envKeys: string[];
  frontEnvKeys: string[];
  front: "auto" | "nginx-proxy" | "host-nginx" | undefined;
  network: string | undefined;
  publish: string | undefined;
  units: string[];
  vhost: string | undefined;
}

export function readBundleSide(file: string, cwd: string): BundleSide {
  const tarball = readBundleTarball(file, cwd, (path) => path === "docker-run.sh" || path === "MANIFEST.json");
  const text = (path: string): string => tarball.entries.find((entry) => entry.path === path)?.content.toString("utf8") ?? "";
  const run = text("docker-run.sh");
  const manifest = JSON.parse(text("MANIFEST.json")) as { image?: string; files?: { path: string }[] };
  const paths = (manifest.files ?? []).map((entry) => entry.path);
  const front = /^front=(auto|nginx-proxy|host-nginx)$/m.exec(run)?.[1] as BundleSide["front"];
  const frontEnvKeys = front === undefined ? [] : ["VIRTUAL_HOST", "VIRTUAL_PORT", "LETSENCRYPT_HOST", "LETSENCRYPT_EMAIL"].filter((key) => run.includes(`|| ${key}=`));
  const envKeys = [...new Set([...run.matchAll(/^ +--env ([A-Za-z_][A-Za-z0-9_]*) \\$/gm)].map((match) => match[1] ?? ""))].filter((key) => !frontEnvKeys.includes(key) && !["VIRTUAL_HOST", "VIRTUAL_PORT", "LETSENCRYPT_HOST", "LETSENCRYPT_EMAIL"].includes(key));
  return {
    name: tarball.root,
    image: manifest.image ?? "",
    envKeys,
    frontEnvKeys,
    front,
    network: /^network=(\S+)$/m.exec(run)?.[1],
    publish: /127\.0\.0\.1:\d+:\d+/.exec(run)?.[0],
    units: paths.filter((path) => path.startsWith("systemd/")).map((path) => path.slice("systemd/".length)),
    vhost: paths.find((path) => path.startsWith("nginx/") && path.endsWith(".conf"))?.slice("nginx/".length),
  };
}

/** The first plc deploy on that site, for a person: one row per thing that changes. */
export function formatSiteDiff(site: Site, bundle: BundleSide, where: string): string {
  const lines = [`${where}: no plc release is installed; the first plc deploy takes over what runs there:`];
  const rows: [string, string][] = [];
  rows.push(["image", `${site.image ?? "(no container)"} -> ${bundle.image}`]);
  const behindProxy = bundle.front !== undefined && bundle.front !== "host-nginx" && site.nginxProxy;
  const keys = [...bundle.envKeys, ...(behindProxy ? bundle.frontEnvKeys : [])];
  const added = keys.filter((key) => !site.envKeys.includes(key)).sort();
  // PATH, HOME and the like come from the image, not from whoever started the container.
  const imageKeys = new Set(["PATH", "HOME", "HOSTNAME", "LANG", "GPG_KEY", "PYTHON_VERSION", "PYTHON_PIP_VERSION", "PYTHON_SHA256", "PYTHON_GET_PIP_URL", "PYTHON_GET_PIP_SHA256"]);
  const removed = site.envKeys.filter((key) => !keys.includes(key) && !imageKeys.has(key)).sort();
  if (added.length + removed.length > 0) rows.push(["env keys", [...added.map((key) => `+${key}`), ...removed.map((key) => `-${key}`)].join(" ")]);
  const args: string[] = [];
  if (site.restart !== undefined && site.restart !== "unless-stopped") args.push(`--restart ${site.restart} -> unless-stopped`);
  if (site.logDriver !== undefined && site.logDriver !== "json-file") args.push(`--log-driver ${site.logDriver} -> json-file (bounded)`);
  const own = bundle.network ?? bundle.name;
  const networks = [own, ...(behindProxy ? site.proxyNetworks.filter((net) => net !== own && net !== "host" && net !== "none") : [])];
  if (site.networks.join(",") !== networks.join(",")) args.push(`networks ${site.networks.join(",") || "(none)"} -> ${networks.join(",")}`);
  if (bundle.publish !== undefined) args.push(`--publish ${bundle.publish}`);
  if (site.image !== undefined && args.length > 0) rows.push(["container", args.join("; ")]);
  const units: string[] = [];
  if (site.bootBackup) units.push(`backup-${bundle.name}.service no longer at boot`);
  for (const unit of site.units) {
    if (/\.prune\.(service|timer)$/.test(unit)) units.push(`-${unit}`);
    else if (bundle.units.includes(unit)) units.push(`~${unit}`);
    else units.push(`-${unit}`);
  }
  for (const unit of bundle.units) if (!site.units.includes(unit)) units.push(`+${unit}`);
  if (units.length > 0) rows.push(["units", units.join(" ")]);
  if (bundle.vhost !== undefined) {
    if (behindProxy) rows.push(["vhost", `served by the nginx-proxy container (VIRTUAL_HOST); no host vhost`]);
    else if (site.nginxProxy && bundle.front === "host-nginx") rows.push(["vhost", `+/etc/nginx/sites-enabled/${bundle.vhost}: refused while nginx-proxy holds ports 80 and 443`]);
    else rows.push(["vhost", `${site.vhosts.includes(bundle.vhost) ? "~" : "+"}/etc/nginx/sites-enabled/${bundle.vhost}`]);
  }
  const width = Math.max(0, ...rows.map(([name]) => name.length));
  for (const [name, value] of rows) lines.push(`  ${name.padEnd(width)}  ${value}`);
  lines.push("(+ added, - removed, ~ replaced)");
  return lines.join("\n") + "\n";
}
