// The edge that writes: `plc build`'s tarball (+ secrets file, + .run) and `plc render`'s tree. Every
// output or none; a failure is exit 1 with nothing left behind.
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { compileBundle, secretsText } from "./index.js";
import { fail } from "./diagnostics.js";
import type { LoadOptions } from "./load/index.js";
import { packBundle, type PackOptions } from "./pack/index.js";
import { selfExtractingChunks, selfExtractingName } from "./ship/self-extracting.js";

interface Output {
  path: string;
  /** Bytes, or chunks made as they are written (a tarball with an image inside is never held whole). */
  content: Buffer | string | (() => Iterable<Buffer>);
  mode: number;
}

export interface BuildOptions {
  outDir: string;
  embedSecrets?: boolean;
  selfExtracting?: boolean;
}

/** Why a write failed, in words; the errno code stays for the curious. */
function ioReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const reasons: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "permission denied",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    EDQUOT: "disk quota exceeded",
    EISDIR: "a directory is in the way",
    ENOTDIR: "a file is in the way",
    EEXIST: "a file is in the way",
  };
  return reasons[code] ?? (code === "" ? String(error) : code);
}

/** `--out-dir DIR` as a directory: creates it; a file there (or above it) is bad input, exit 2. */
function prepareOutDir(dir: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // Absent (or unreachable): mkdir below says which.
  }
  if (isDirectory) return;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR") {
      fail("invalid-argument", `-o ${dir} is not a directory`, { variable: "-o", hint: "give a directory (it is created if missing)" });
    }
    fail("io-error", `cannot create ${dir}: ${ioReason(error)}`, { variable: "-o", hint: "give a directory you can write to" });
  }
}

/**
 * Writes every output or none, exit 1 on failure: each goes to a temporary beside it, then they
 * are renamed in order (the tarball last, so it never stands without its secrets file); a failure
 * removes the temporaries and whatever this run had already renamed.
 */
function writeOutputs(outputs: readonly Output[]): void {
  const temporaries: string[] = [];
  const renamed: string[] = [];
  const undo = (): void => {
    for (const path of [...temporaries, ...renamed]) rmSync(path, { force: true });
  };
  for (const output of outputs) {
    const temporary = join(dirname(output.path), `.${basename(output.path)}.tmp-${process.pid}`);
    try {
      temporaries.push(temporary);
      writeContent(temporary, output.content, output.mode);
      chmodSync(temporary, output.mode);
    } catch (error) {
      undo();
      fail("io-error", `cannot write ${output.path}: ${ioReason(error)}`, { variable: "-o", hint: "nothing was written; give a directory you can write to (-o DIR)" });
    }
  }
  outputs.forEach((output, index) => {
    const temporary = temporaries[index] ?? "";
    try {
      renameSync(temporary, output.path);
      temporaries[index] = "";
      renamed.push(output.path);
    } catch (error) {
      undo();
      fail("io-error", `cannot write ${output.path}: ${ioReason(error)}`, { variable: "-o", hint: "nothing was written; move what is in the way or choose another -o DIR" });
    }
  });
}

function writeContent(path: string, content: Output["content"], mode: number): void {
  if (typeof content !== "function") {
    writeFileSync(path, content, { mode, flag: "wx" });
    return;
  }
  const fd = openSync(path, "wx", mode);
  try {
    for (const chunk of content()) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

/** `plc build`: compiles once, writes the tarball and its siblings; returns the lines for stdout and stderr. */
export function writeBuild(load: LoadOptions, pack: PackOptions, options: BuildOptions): { paths: string[]; notes: string[]; summary: string } {
  const compiled = compileBundle(load, pack);
  const secrets = compiled.bundle.secrets.length > 0 ? secretsText(compiled.bundle) : undefined;
  const holdsSecrets = options.embedSecrets === true && secrets !== undefined;
  // Embedding repacks the same rendered bundle: the inputs are read and the spec compiled once.
  const packed = holdsSecrets
    ? packBundle(compiled.spec, compiled.bundle, { ...pack, extraFiles: [...(pack.extraFiles ?? []), { path: "secrets.env", mode: 0o600, content: secrets }] })
    : compiled.packed;
  const tarball = join(options.outDir, packed.fileName);
  const outputs: Output[] = [];
  // Secrets inside: readable by the builder alone, like the *.secrets.env plc writes otherwise.
  if (secrets !== undefined && !holdsSecrets) outputs.push({ path: tarball.replace(/\.tar\.gz$/, ".secrets.env"), content: secrets, mode: 0o600 });
  if (options.selfExtracting === true) {
    const runFile = join(options.outDir, selfExtractingName(packed));
    outputs.push({ path: runFile, content: () => selfExtractingChunks(packed, compiled.bundle.root), mode: holdsSecrets ? 0o700 : 0o755 });
  }
  outputs.push({ path: tarball, content: packed.tgz, mode: holdsSecrets ? 0o600 : 0o644 });
  prepareOutDir(options.outDir);
  writeOutputs(outputs);
  return {
    // Printed in the order scripts have always read: tarball, .run, secrets file.
    paths: [...outputs].reverse().map((output) => output.path),
    notes: compiled.spec.notes,
    summary: `bundle ${packed.id.slice(0, 12)}: ${compiled.spec.name}, image ${compiled.spec.image}, ${packed.files.length + packed.streamed.length} files`,
  };
}

/** `plc render`: the bundle tree unpacked in `dir`, replacing an earlier render whole; returns its path. */
export function writeTree(load: LoadOptions, pack: PackOptions, dir: string, flag: string): string {
  const compiled = compileBundle(load, pack);
  const root = resolve(dir);
  // Replaced whole, so only an empty folder or an earlier render: `-o .` must not wipe a project.
  if (existsSync(root) && !statSync(root).isDirectory()) {
    fail("invalid-argument", `${flag} ${dir} is not a directory`, { variable: flag, hint: "give a new or empty directory (plc render replaces it whole)" });
  }
  if (existsSync(root) && readdirSync(root).length > 0 && !existsSync(join(root, "MANIFEST.json"))) {
    fail("invalid-argument", `${dir} is not empty and holds no earlier render`, {
      variable: flag,
      hint: "give a new or empty directory (plc render replaces it whole)",
    });
  }
  // Written beside, then swapped in: a failed render leaves the earlier one, not half a tree.
  const temporary = join(dirname(root), `.${basename(root)}.tmp-${process.pid}`);
  try {
    for (const file of [...compiled.packed.files, ...compiled.packed.streamed]) {
      const path = join(temporary, file.path);
      mkdirSync(dirname(path), { recursive: true });
      if (typeof file.content === "string" || Buffer.isBuffer(file.content)) writeFileSync(path, file.content, { mode: file.mode });
      else copyFileSync(file.content.path, path);
      chmodSync(path, file.mode);
    }
    rmSync(root, { recursive: true, force: true });
    renameSync(temporary, root);
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "EEXIST") fail("invalid-argument", `${flag} ${dir} is not a directory`, { variable: flag, hint: "give a new or empty directory" });
    fail("io-error", `cannot write ${dir}: ${ioReason(error)}`, { variable: flag, hint: "give a directory you can write to" });
  }
  return root;
}
