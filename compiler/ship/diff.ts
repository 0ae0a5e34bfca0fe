// `plc diff BUNDLE @host`: the installed release's MANIFEST.json, fetched over one ssh connection,
// against the bundle's; nothing is sent and nothing changes on the host. The command line is parsed
// in commands/diff.ts.
import { resolve } from "node:path";
import { diffManifests, formatManifestDiff, type ManifestDiff } from "../diff.js";
import { formatSiteDiff, parseSite, readBundleSide, siteReaderLines, SITE_MARK, type Site } from "../diff-site.js";
import { diagnostic, fail, PlcError, type Diagnostic } from "../diagnostics.js";
import { isManifest, parseManifest, readBundleManifest } from "../load/bundle.js";
import { readGroupTargets } from "../load/hosts.js";
import { loadSpec, type LoadOptions } from "../load/index.js";
import { sh } from "../render/quote.js";
import type { Manifest } from "../types.js";
import { explainConnectFailure, noSsh, parseDestinations, readSshSettings, runSsh, sudoPreflight, type Destination, type SshOptions, type SshSettings } from "./ssh.js";

export interface DiffOptions extends SshOptions {
  inventory?: string;
}

/** The bundle side: its root folder, its manifest, and the home its installer deploys to. */
export interface BundleManifest {
  root: string;
  manifest: Manifest;
  home: string;
}

/** Exit statuses of the remote script, apart from ssh's 255. */
const REMOTE_STATUS = { sudo: 92, noRelease: 94, unreadable: 95 } as const;
const READY_MARK = "@@plc-diff ready";
const ERROR_PREFIX = "plc-diff: error: ";
// A manifest lists a few dozen files; anything near this is not one.
const MANIFEST_LIMIT = 16 * 1024 * 1024;

/**
 * Runs on the host with the home as $1 and the instance's name as $2: prints current/MANIFEST.json,
 * through sudo -n when not root. With no plc release but a site there (playlabs', say), prints
 * SITE_MARK then what runs (see compiler/diff-site.ts): names and keys only, never an env value.
 */
export function manifestReaderScript(): string {
  return `set -u
printf '%s\\n' '${READY_MARK}' >&2
fail() { status=$1; shift; printf '${ERROR_PREFIX}%s\\n' "$*" >&2; exit "$status"; }
file=$1/current/MANIFEST.json
sudo=
${sudoPreflight(REMOTE_STATUS.sudo, "connect")}
fi
if ! $sudo test -f "$file"; then
  name=\${2:-}
  if [ -z "$name" ] || ! { $sudo test -d "$1" || $sudo docker container inspect "$name" >/dev/null 2>&1; }; then
    fail ${REMOTE_STATUS.noRelease} "no release is installed in $1 (no current/MANIFEST.json): plc ship would install this bundle as the first release"
  fi
${siteReaderLines()}
  exit 0
fi
$sudo cat "$file" || fail ${REMOTE_STATUS.unreadable} "cannot read $file"
`;
}

/** 0 when every host runs this bundle, 1 when one differs; a failure to compare throws. */
export async function diff(bundlePath: string, hosts: readonly string[], options: DiffOptions, load: LoadOptions): Promise<number> {
  const settings = readSshSettings(options, !process.stdin.isTTY || hosts.length > 1);
  const destinations = parseDestinations(hosts, 2, "host", "after BUNDLE come @host, user@host or user@host:port");
  const { root, manifest } = readBundleManifest(resolve(bundlePath), process.cwd());
  const bundle: BundleManifest = { root, manifest, home: manifest.home };
  if (destinations.length === 0 && options.inventory !== undefined) {
    const { inventory } = loadSpec({ ...load, words: [] });
    if (inventory !== undefined) destinations.push(...readGroupTargets(inventory, bundle.root));
  }
  if (destinations.length === 0) {
    fail("no-host", { command: "diff", group: bundle.root });
  }

  const failures: Diagnostic[] = [];
  let isAnyDifferent = false;
  // One host after the other: the output of each stays together, and a prompt has the terminal to itself.
  for (const destination of destinations) {
    const outcome = await diffHost(destination, settings, bundle);
    if ("code" in outcome) {
      failures.push(outcome);
      continue;
    }
    if ("site" in outcome) {
      // The first plc deploy over a site plc did not make: always a change.
      isAnyDifferent = true;
      process.stdout.write(formatSiteDiff(outcome.site, readBundleSide(resolve(bundlePath), process.cwd()), `${bundle.root} on ${destination.label}`));
      continue;
    }
    if (!outcome.isSame) isAnyDifferent = true;
    process.stdout.write(formatManifestDiff(outcome, `${bundle.root} on ${destination.label}`));
  }
  if (failures.length > 0) throw new PlcError(failures);
  // Like `git diff --exit-code`: a difference is an answer, not an error, so nothing goes to stderr.
  return isAnyDifferent ? 1 : 0;
}

async function diffHost(destination: Destination, settings: SshSettings, bundle: BundleManifest): Promise<ManifestDiff | { site: Site } | Diagnostic> {
  const fetched = await fetchInstalledManifest(destination, settings, bundle.home, bundle.root);
  if ("code" in fetched) return fetched;
  if (fetched.text.startsWith(SITE_MARK)) return { site: parseSite(fetched.text) };
  const installed = parseManifest(fetched.text);
  if (!isManifest(installed)) {
    return diagnostic("installed-manifest", { host: destination.label, file: `${bundle.home}/current/MANIFEST.json`, problem: installed.problem });
  }
  return diffManifests(installed, bundle.manifest);
}

/** One ssh connection running the reader script; resolves with the manifest's text or a diagnostic. */
export function fetchInstalledManifest(destination: Destination, settings: SshSettings, home: string, name = ""): Promise<{ text: string } | Diagnostic> {
  const command = ["sh", "-c", sh(manifestReaderScript()), "plc-diff", sh(home), sh(name)].join(" ");
  const { child, exited } = runSsh(destination, settings, command, false);
  const out: Buffer[] = [];
  let outSize = 0;
  let errText = "";
  child.stdout.on("data", (chunk: Buffer) => {
    outSize += chunk.length;
    if (outSize <= MANIFEST_LIMIT) out.push(chunk);
  });
  child.stderr.on("data", (chunk: Buffer) => {
    errText += chunk.toString("utf8");
  });
  return exited.then(({ code, signal, spawnError }) => {
    if (spawnError !== undefined) return noSsh(spawnError);
    const lines = errText.split("\n").map((line) => line.replace(/\r$/, ""));
    const ready = lines.indexOf(READY_MARK);
    // Before the mark, stderr is ssh's own (or a login banner); after it, the script's.
    const said = (ready < 0 ? lines : lines.slice(0, ready)).filter((line) => line.trim() !== "").join("\n");
    const remoteError = lines.slice(ready + 1).find((line) => line.startsWith(ERROR_PREFIX));
    if (signal !== null) return diagnostic("ssh-signal", { host: destination.label, signal });
    if (code === 0 && ready >= 0) {
      if (outSize > MANIFEST_LIMIT) return diagnostic("installed-manifest-too-big", { host: destination.label, limit: MANIFEST_LIMIT });
      return { text: Buffer.concat(out).toString("utf8") };
    }
    if (ready >= 0 && remoteError !== undefined) {
      return diagnostic("diff-remote-error", { host: destination.label, problem: remoteError.slice(ERROR_PREFIX.length), isSudo: code === REMOTE_STATUS.sudo });
    }
    if (ready < 0) {
      return explainConnectFailure(destination, code, said) ?? diagnostic("diff-connection-lost", { host: destination.label, status: String(code) });
    }
    return diagnostic("diff-read-failed", { host: destination.label, status: String(code) });
  });
}
