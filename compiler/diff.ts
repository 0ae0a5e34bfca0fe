// What a ship would change on a host: the installed release's MANIFEST.json against a bundle's,
// compared as values. Reading either manifest is the caller's business (plc diff, over ssh).
import type { Manifest } from "./types.js";

/** A manifest value shown as one word on each side. */
export type ValueName = "plc" | "project" | "instance" | "image" | "inputsDigest";

export interface ValueChange {
  name: ValueName;
  installed: string;
  bundle: string;
}

/** A manifest list: plugins (their order matters), secrets (names only, never values). */
export interface ListChange {
  name: "plugins" | "secrets";
  installed: string[];
  bundle: string[];
  added: string[];
  removed: string[];
}

export type FileChangeKind = "added" | "removed" | "modified" | "mode";

export interface ManifestFile {
  path: string;
  mode: string;
  sha256: string;
}

export interface FileChange {
  path: string;
  /** `modified` when the content's sha256 differs; `mode` when only the mode does. */
  kind: FileChangeKind;
  installed: ManifestFile | undefined;
  bundle: ManifestFile | undefined;
}

export interface ManifestDiff {
  isSame: boolean;
  installedId: string;
  bundleId: string;
  values: ValueChange[];
  lists: ListChange[];
  /** Sorted by path. */
  files: FileChange[];
}

const VALUE_NAMES: readonly ValueName[] = ["project", "instance", "image", "plc", "inputsDigest"];

/** Compares what is installed with what a bundle would install. */
export function diffManifests(installed: Manifest, bundle: Manifest): ManifestDiff {
  const values = VALUE_NAMES.filter((name) => installed[name] !== bundle[name]).map((name) => ({
    name,
    installed: installed[name],
    bundle: bundle[name],
  }));
  const lists: ListChange[] = [];
  for (const name of ["plugins", "secrets"] as const) {
    const before = installed[name];
    const after = bundle[name];
    if (before.length === after.length && before.every((item, index) => item === after[index])) continue;
    lists.push({
      name,
      installed: before,
      bundle: after,
      added: after.filter((item) => !before.includes(item)),
      removed: before.filter((item) => !after.includes(item)),
    });
  }
  const files = diffFiles(installed.files, bundle.files);
  const isSame = installed.id === bundle.id && values.length === 0 && lists.length === 0 && files.length === 0;
  return { isSame, installedId: installed.id, bundleId: bundle.id, values, lists, files };
}

function diffFiles(installed: readonly ManifestFile[], bundle: readonly ManifestFile[]): FileChange[] {
  const before = new Map(installed.map((file) => [file.path, file]));
  const after = new Map(bundle.map((file) => [file.path, file]));
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const changes: FileChange[] = [];
  for (const path of paths) {
    const old = before.get(path);
    const next = after.get(path);
    let kind: FileChangeKind | undefined;
    if (old === undefined) kind = "added";
    else if (next === undefined) kind = "removed";
    else if (old.sha256 !== next.sha256) kind = "modified";
    else if (old.mode !== next.mode) kind = "mode";
    if (kind !== undefined) changes.push({ path, kind, installed: old, bundle: next });
  }
  return changes;
}

/** The diff as text for a person: what changes, then the files, git --name-status style. */
export function formatManifestDiff(diff: ManifestDiff, where: string): string {
  const short = (id: string): string => id.slice(0, 12);
  if (diff.isSame) return `${where}: release ${short(diff.installedId)} is installed; the bundle is the same, a ship changes nothing\n`;
  const lines = [`${where}: installed release ${short(diff.installedId)}, bundle ${short(diff.bundleId)}`];
  const rows: [string, string][] = [];
  for (const change of diff.values) rows.push([change.name, `${change.installed} -> ${change.bundle}`]);
  for (const change of diff.lists) {
    if (change.name === "secrets") {
      const parts = [...change.added.map((key) => `+${key}`), ...change.removed.map((key) => `-${key}`)];
      rows.push(["secrets", parts.length > 0 ? parts.join(" ") : `${listText(change.installed)} -> ${listText(change.bundle)}`]);
    } else {
      rows.push([change.name, `${listText(change.installed)} -> ${listText(change.bundle)}`]);
    }
  }
  const width = Math.max(0, ...rows.map(([name]) => name.length));
  for (const [name, text] of rows) lines.push(`  ${name.padEnd(width)}  ${text}`);
  if (diff.files.length > 0) {
    lines.push("files:");
    for (const change of diff.files) {
      const mode = change.kind === "mode" ? ` (${change.installed?.mode ?? ""} -> ${change.bundle?.mode ?? ""})` : "";
      lines.push(`  ${change.kind.padEnd(8)}  ${change.path}${mode}`);
    }
  }
  const count = (kind: FileChangeKind): number => diff.files.filter((change) => change.kind === kind).length;
  const summary = [`${count("added")} added`, `${count("removed")} removed`, `${count("modified") + count("mode")} modified`];
  lines.push(`${diff.values.length + diff.lists.length} values changed; files: ${summary.join(", ")}`);
  return lines.join("\n") + "\n";
}

function listText(items: readonly string[]): string {
  return items.length === 0 ? "(none)" : items.join(",");
}
