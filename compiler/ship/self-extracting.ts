// `plc build --self-extracting`: one executable `.run` file, a POSIX sh header and the bundle tarball
// after it, for hosts reached only by carrying a file. The header checks the payload's sha256 first.
import { createHash } from "node:crypto";
import { sh } from "../render/quote.js";
import type { PackedBundle } from "../types.js";

// The payload offset is written with a fixed width, so the header's length does not depend on it.
const OFFSET_WIDTH = 12;

/** The `.run` file's name beside the tarball. */
export function selfExtractingName(packed: Pick<PackedBundle, "fileName">): string {
  return packed.fileName.replace(/\.tar\.gz$/, ".run");
}

/** The `.run` file's bytes: header, then the tarball unchanged. Deterministic, like the tarball. */
export function selfExtractingBundle(packed: Pick<PackedBundle, "tgz" | "id">, root: string): Buffer {
  return Buffer.concat([...selfExtractingChunks(packed, root)]);
}

/** The same bytes in chunks: the tarball is made twice (its sha256 heads the file), never held whole. */
export function* selfExtractingChunks(packed: Pick<PackedBundle, "tgz" | "id">, root: string): Generator<Buffer> {
  const hash = createHash("sha256");
  for (const chunk of packed.tgz()) hash.update(chunk);
  const sha256 = hash.digest("hex");
  const render = (offset: number): string => header(root, packed.id, sha256, String(offset).padStart(OFFSET_WIDTH, "0"));
  const length = Buffer.byteLength(render(0), "utf8");
  yield Buffer.from(render(length + 1), "utf8");
  yield* packed.tgz();
}

function header(root: string, id: string, sha256: string, offset: string): string {
  const short = id.slice(0, 12);
  return `#!/bin/sh
# ${root} release ${short}, built by plc: this file installs itself.
#   sudo sh ./${root}-${short}.run --secrets ${root}-${short}.secrets.env
# Options are install.sh's: --secrets FILE, --check, --rollback; --extract DIR only unpacks.
# The bundle follows this header; its sha256 is checked before anything is unpacked.
set -eu
umask 077
root=${sh(root)}
payload_sha256=${sha256}
# Decimal despite the leading zeros: only tail reads it.
payload_offset=${offset}
self=$0
case $self in /*) ;; *) self=$(pwd)/$self ;; esac
die() { printf '%s: error: %s\\n' "\${self##*/}" "$*" >&2; exit 1; }
for tool in tail sha256sum tar gzip mktemp; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing on this host (nothing was changed)"
done
extract=
if [ "\${1:-}" = --extract ]; then
  [ $# -ge 2 ] || die "--extract needs a directory"
  extract=$2
fi
dir=$(mktemp -d "\${TMPDIR:-/tmp}/plc-run.XXXXXXXX") || die "cannot create a temporary directory"
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tail -c +"$payload_offset" "$self" >"$dir/bundle.tar.gz"
printf '%s  %s\\n' "$payload_sha256" "$dir/bundle.tar.gz" | sha256sum -c --strict --quiet >/dev/null 2>&1 ||
  die "checksum mismatch: this file was altered or truncated (nothing was unpacked or changed)"
if [ -n "$extract" ]; then
  mkdir -p "$extract"
  tar -xzf "$dir/bundle.tar.gz" -C "$extract" --no-same-owner
  printf '%s\\n' "$extract/$root"
  exit 0
fi
mkdir "$dir/bundle"
tar -xzf "$dir/bundle.tar.gz" -C "$dir/bundle" --no-same-owner
status=0
sh "$dir/bundle/$root/install.sh" "$@" </dev/null || status=$?
exit "$status"
`;
}
