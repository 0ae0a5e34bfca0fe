// The transport: one OpenSSH connection per host, carrying one tar stream (bundle, secrets, END)
// to the receiver, and the receiver's phases and the installer's output back.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Header } from "tar/header";
import { diagnostic, type Diagnostic } from "../diagnostics.js";
import { sh } from "../render/quote.js";
import { createGunzip } from "node:zlib";
import { layeredEntries, layersHeld, parseStack, partsToSend, type ImagePart, type StreamFile } from "./layers.js";
import { LAYERS_ARGUMENT, PHASE_MARK, RECEIVER_STATUS, STREAM, receiverScript } from "./receiver.js";
import type { Shipment } from "./shipment.js";
import type { Target } from "../types.js";
import { describeTarget, exitOf, explainConnectFailure, lastLine, noSsh, runSsh, sshArguments, type Destination, type SshSettings } from "./ssh.js";

export type { Destination, SshSettings } from "./ssh.js";

export type Phase = "connecting" | "sending" | "sent" | "ready" | "received" | "verified" | "installing" | "done";

export type ShipEvent =
  | { kind: "phase"; label: string; phase: Phase; detail: string }
  | { kind: "progress"; label: string; sent: number; total: number; elapsedMs: number }
  | { kind: "output"; label: string; line: string }
  /** An event install.sh marked (backup.started, checks.failed…): what notifications are made of. */
  | { kind: "event"; label: string; name: string; detail: string };

export interface ShipResult {
  label: string;
  isOk: boolean;
  durationMs: number;
  bytesSent: number;
  /** The last phase the host reported. */
  phase: Phase;
  diagnostic: Diagnostic | undefined;
  /** The HTTPS address the host's tls.sh found answering through nginx, when HTTPS is on. */
  httpsUrl: string | undefined;
}

/** tls.sh's line once nginx answers over HTTPS: `tls.sh: HTTPS is on: https://name/path answers 200`. */
export function httpsUrlOf(line: string): string | undefined {
  return /^tls\.sh: HTTPS is on: (https:\/\/\S+) answers [0-9]{3}$/.exec(line)?.[1];
}

/** install.sh's mode for this ship: a deploy, or `--check` (changes nothing). */
export type InstallMode = "install" | "--check";

const BLOCK = 512;
const RECORD = 20 * BLOCK;
const CHUNK = 64 * 1024;

/** The command the remote login shell runs: `sh -c RECEIVER plc-ship SHA256 ROOT [MODE]`; no secret in it. */
export function remoteCommand(shipment: Shipment, mode: InstallMode, receiverWord = sh(receiverScript())): string {
  const words = ["sh", "-c", receiverWord, "plc-ship", shipment.sha256, sh(shipment.root)];
  if (shipment.imageParts !== undefined) words.push(mode === "install" ? "''" : mode, LAYERS_ARGUMENT);
  else if (mode !== "install") words.push(mode);
  return words.join(" ");
}

/** playlabs' `@localhost` (ansible -c local): this machine, without ssh. */
export function isLocalTarget(target: Target): boolean {
  return target.host === "localhost" && target.user === undefined && target.port === undefined;
}

/** /bin/sh with these arguments, settled like runSsh's child. */
function runLocal(args: string[]): ReturnType<typeof runSsh> {
  const child = spawn("/bin/sh", args, { stdio: ["pipe", "pipe", "pipe"] });
  return { child, exited: exitOf(child) };
}

/** The receiver run here, as ssh would run it on a host (it takes sudo -n itself when not root). */
function localArguments(shipment: Shipment, mode: InstallMode): string[] {
  const modeWords = shipment.imageParts !== undefined ? [mode === "install" ? "" : mode, LAYERS_ARGUMENT] : mode === "install" ? [] : [mode];
  return ["-c", receiverScript(), "plc-ship", shipment.sha256, shipment.root, ...modeWords];
}

/** The ssh command line as a person would type it, with the receiver shown as a variable. */
export function formatSshCommand(destination: Destination, settings: SshSettings, shipment: Shipment, mode: InstallMode): string {
  if (isLocalTarget(destination.target)) return `${remoteCommand(shipment, mode, `"$PLC_RECEIVER"`)}  (on this machine, no ssh)`;
  const command = remoteCommand(shipment, mode, `"$PLC_RECEIVER"`);
  return ["ssh", ...sshArguments(destination, settings, command)].map((word) => sh(word)).join(" ");
}

function tarHeader(path: string, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  new Header({ path, mode: 0o600, uid: 0, gid: 0, size, mtime: new Date(0), type: "File", uname: "", gname: "" }).encode(block, 0);
  return block;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** Bytes of the stream, for the progress line: headers, contents, END and the record padding. */
export function streamSize(shipment: Shipment): number {
  const entry = (size: number): number => BLOCK + size + padding(size).length;
  let total = entry(shipment.size) + entry(endText(shipment).length) + 2 * BLOCK;
  if (shipment.secrets !== undefined) total += entry(shipment.secrets.length);
  if (shipment.signature !== undefined) total += entry(shipment.signature.length);
  return total + ((RECORD - (total % RECORD)) % RECORD);
}

/** `sha256sum -c` lines of what came before END, so the receiver tells a whole stream from a cut one. */
function endText(shipment: Shipment): Buffer {
  let text = `${shipment.sha256}  ${STREAM.bundle}\n`;
  if (shipment.secrets !== undefined) text += `${createHash("sha256").update(shipment.secrets).digest("hex")}  ${STREAM.secrets}\n`;
  if (shipment.signature !== undefined) text += `${createHash("sha256").update(shipment.signature).digest("hex")}  ${STREAM.signature}\n`;
  return Buffer.from(text, "utf8");
}

/** The stream as a tar archive the receiver unpacks with `tar -xf -`. */
export async function* streamChunks(shipment: Shipment): AsyncGenerator<Buffer> {
  yield tarHeader(STREAM.bundle, shipment.size);
  if (shipment.source.kind === "file") {
    for await (const chunk of createReadStream(shipment.source.path, { highWaterMark: CHUNK })) yield chunk as Buffer;
  } else {
    const data = shipment.source.data;
    for (let offset = 0; offset < data.length; offset += CHUNK) yield data.subarray(offset, offset + CHUNK);
  }
  yield padding(shipment.size);
  if (shipment.secrets !== undefined) {
    yield tarHeader(STREAM.secrets, shipment.secrets.length);
    yield shipment.secrets;
    yield padding(shipment.secrets.length);
  }
  if (shipment.signature !== undefined) {
    yield tarHeader(STREAM.signature, shipment.signature.length);
    yield shipment.signature;
    yield padding(shipment.signature.length);
  }
  const end = endText(shipment);
  yield tarHeader(STREAM.end, end.length);
  yield end;
  yield padding(end.length);
  // Two zero blocks end the archive; zeros up to a whole record keep every tar's reader content.
  yield Buffer.alloc(streamSize(shipment) - bytesBeforeTrailer(shipment));
}

function bytesBeforeTrailer(shipment: Shipment): number {
  const entry = (size: number): number => BLOCK + size + padding(size).length;
  let total = entry(shipment.size) + entry(endText(shipment).length);
  if (shipment.secrets !== undefined) total += entry(shipment.secrets.length);
  if (shipment.signature !== undefined) total += entry(shipment.signature.length);
  return total;
}

/** What the layered stream holds once the host said which layers it has. */
export interface LayeredPlan {
  /** The image's bottom layers the host holds, which stay out of the stream. */
  held: number;
  layers: number;
  send: ImagePart[];
  /** Bytes of the image archive's files left out. */
  savedBytes: number;
}

/** Which parts travel, from the receiver's `layers` lines. */
export function planLayers(parts: readonly ImagePart[], stacks: readonly string[]): LayeredPlan {
  const held = layersHeld(parts, stacks.map(parseStack));
  const send = partsToSend(parts, held);
  const savedBytes = parts.reduce((sum, part) => sum + part.size, 0) - send.reduce((sum, part) => sum + part.size, 0);
  return { held, layers: parts.filter((part) => part.isLayer).length, send, savedBytes };
}

/** The tarball's bytes as they are read. */
function tgzChunks(shipment: Shipment): AsyncIterable<Buffer> | Iterable<Buffer> {
  if (shipment.source.kind === "file") return createReadStream(shipment.source.path, { highWaterMark: CHUNK });
  const data = shipment.source.data;
  return (function* () {
    for (let offset = 0; offset < data.length; offset += CHUNK) yield data.subarray(offset, offset + CHUNK);
  })();
}

/**
 * The stream when the image travels as its archive's files: the parts the host lacks (`image/<path>`),
 * the bundle without image.tar, secrets, END (sha256 of each), read from the tarball in one pass.
 */
export async function* layeredChunks(shipment: Shipment, send: readonly ImagePart[]): AsyncGenerator<Buffer> {
  const files: StreamFile[] = [];
  let written = 0;
  const counted = (chunk: Buffer): Buffer => {
    written += chunk.length;
    return chunk;
  };
  const gunzip = createGunzip();
  const source = Readable.from(tgzChunks(shipment));
  source.on("error", (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  for await (const chunk of layeredEntries(gunzip, shipment.root, send, tarHeader, (file) => files.push(file))) yield counted(chunk);
  if (shipment.secrets !== undefined) {
    files.push({ name: STREAM.secrets, size: shipment.secrets.length, sha256: createHash("sha256").update(shipment.secrets).digest("hex") });
    yield counted(tarHeader(STREAM.secrets, shipment.secrets.length));
    yield counted(shipment.secrets);
    yield counted(padding(shipment.secrets.length));
  }
  const end = Buffer.from(files.map((file) => `${file.sha256}  ${file.name}\n`).join(""), "utf8");
  yield counted(tarHeader(STREAM.end, end.length));
  yield counted(end);
  yield counted(padding(end.length));
  const trailer = 2 * BLOCK;
  yield Buffer.alloc(trailer + ((RECORD - ((written + trailer) % RECORD)) % RECORD));
}

/** Bytes of the layered stream's image parts: the progress line's total (the rest is a few KiB). */
function layeredSize(send: readonly ImagePart[]): number {
  return send.reduce((sum, part) => sum + BLOCK + part.size + padding(part.size).length, 0);
}

/** Splits a byte stream into lines, keeping a partial line until its end arrives. */
function onLines(stream: Readable, handle: (line: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (text: string) => {
    const lines = (rest + text).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) handle(line.replace(/\r$/, ""));
  });
  stream.on("end", () => {
    if (rest !== "") handle(rest);
  });
}

const PHASE_ORDER: Phase[] = ["connecting", "sending", "sent", "ready", "received", "verified", "installing", "done"];

/** Ships to one host over one ssh connection and resolves with what happened; never rejects. */
export async function shipTo(
  destination: Destination,
  shipment: Shipment,
  settings: SshSettings,
  mode: InstallMode,
  onEvent: (event: ShipEvent) => void,
): Promise<ShipResult> {
  const label = destination.label;
  const started = Date.now();
  let phase: Phase = "connecting";
  let isRemote = false;
  const sshLines: string[] = [];
  let receiverError: string | undefined;
  let installStatus: number | undefined;
  let httpsUrl: string | undefined;
  const reach = (next: Phase, detail = ""): void => {
    // Bytes handed to ssh may sit in a pipe: only the host's own word moves a ship past "connecting".
    const isLocal = next === "sending" || next === "sent";
    if (!isLocal && PHASE_ORDER.indexOf(next) > PHASE_ORDER.indexOf(phase)) phase = next;
    onEvent({ kind: "phase", label, phase: next, detail });
  };

  reach("connecting", describeTarget(destination.target));
  // `@localhost`: the receiver runs here, as ssh would run it on a host.
  const { child, exited } = isLocalTarget(destination.target)
    ? runLocal(localArguments(shipment, mode))
    : runSsh(destination, settings, remoteCommand(shipment, mode), true);
  const stdin = child.stdin;
  if (stdin === null) throw new Error("unreachable: runSsh gave no stdin pipe");

  onLines(child.stdout, (line) => {
    httpsUrl = httpsUrlOf(line) ?? httpsUrl;
    onEvent({ kind: "output", label, line });
  });
  // The layer stacks the host lists before it reads the stream, when the image travels layer by layer.
  const stacks: string[] = [];
  let onListed: (() => void) | undefined;
  const listed = new Promise<void>((resolve) => {
    onListed = resolve;
  });
  onLines(child.stderr, (line) => {
    if (line.startsWith(PHASE_MARK)) {
      isRemote = true;
      const [name = "", ...rest] = line.slice(PHASE_MARK.length).split(" ");
      if (name === "layers") stacks.push(rest.join(" "));
      else if (name === "listed") onListed?.();
      else if (name === "installed") installStatus = Number(rest[0]);
      else if (name === "event") onEvent({ kind: "event", label, name: rest[0] ?? "", detail: rest.slice(1).join(" ") });
      else if (name === "ready" || name === "received" || name === "verified" || name === "installing") reach(name, rest.join(" "));
      return;
    }
    if (line.startsWith("plc-ship: error: ")) {
      receiverError = line.slice("plc-ship: error: ".length);
      return;
    }
    // Before the receiver speaks, stderr is ssh's own (or a login banner): kept for the diagnostic.
    if (!isRemote) sshLines.push(line);
    else onEvent({ kind: "output", label, line });
  });

  // The stream goes out at once; a receiver that refuses early makes the write fail, which the exit status explains.
  let sent = 0;
  let lastProgress = 0;
  let total = streamSize(shipment);
  let chunks: () => AsyncGenerator<Buffer> = () => streamChunks(shipment);
  let imageDetail = "";
  const parts = shipment.imageParts;
  if (parts !== undefined) {
    // Nothing is sent before the host said which layers it has, or refused (then it exited).
    const hasExited = await Promise.race([listed.then(() => false), exited.then(() => true)]);
    const plan = planLayers(parts, hasExited ? [] : stacks);
    total = layeredSize(plan.send);
    chunks = () => layeredChunks(shipment, plan.send);
    imageDetail = `, image layers: ${String(plan.layers - plan.held)} of ${String(plan.layers)} sent (${formatBytes(plan.savedBytes)} left out: the host has them)`;
  }
  const counted = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of chunks()) {
      sent += chunk.length;
      const now = Date.now();
      if (now - lastProgress >= 100 || sent === total) {
        lastProgress = now;
        onEvent({ kind: "progress", label, sent, total, elapsedMs: now - started });
      }
      yield chunk;
    }
  };
  reach("sending", `${formatBytes(total)}${shipment.secrets === undefined ? "" : " with secrets"}${imageDetail}`);
  const sending = pipeline(Readable.from(counted()), stdin).then(
    () => {
      reach("sent", `${formatBytes(sent)} in ${formatSeconds(Date.now() - started)}`);
    },
    () => undefined,
  );

  const { code, signal, spawnError } = await exited;
  await sending;
  const durationMs = Date.now() - started;
  const result = (problem: Diagnostic | undefined): ShipResult => {
    if (problem === undefined) reach("done", formatSeconds(durationMs));
    return { label, isOk: problem === undefined, durationMs, bytesSent: sent, phase, diagnostic: problem, httpsUrl };
  };
  if (spawnError !== undefined) {
    return result(noSsh(spawnError));
  }
  // Only the receiver's own report counts: a forced command (authorized_keys `command="true"`) exits 0 too.
  if (code === 0 && installStatus === 0) return result(undefined);
  if (code === 0 && installStatus === undefined) {
    return result(
      diagnostic("no-install-report", { host: label }),
    );
  }
  return result(explainFailure(destination, { code, signal, phase, isRemote, sshLines, receiverError, installStatus }));
}

interface Failure {
  code: number | null;
  signal: NodeJS.Signals | null;
  phase: Phase;
  isRemote: boolean;
  sshLines: string[];
  receiverError: string | undefined;
  installStatus: number | undefined;
}

/** Turns an exit status and ssh's words into a diagnostic that says what to do. */
function explainFailure(destination: Destination, failure: Failure): Diagnostic {
  const said = failure.sshLines.filter((line) => line.trim() !== "").join("\n");
  if (failure.signal !== null) return diagnostic("ssh-signal", { host: destination.label, signal: failure.signal });
  if (failure.receiverError !== undefined) {
    return diagnostic("receiver-error", { host: destination.label, problem: failure.receiverError, isSudo: failure.code === RECEIVER_STATUS.sudo });
  }
  if (!failure.isRemote) {
    const refused = explainConnectFailure(destination, failure.code, said);
    if (refused !== undefined) return refused;
  }
  // The receiver's first word may be lost with the connection, so an unexplained 255 counts as a cut.
  const isCut = failure.code === 255 || failure.code === RECEIVER_STATUS.incomplete;
  if (isCut && PHASE_ORDER.indexOf(failure.phase) < PHASE_ORDER.indexOf("received")) {
    return diagnostic("transfer-cut", { host: destination.label, said: lastLine(said) || "ssh exit 255" });
  }
  if (failure.code === 255 && failure.installStatus === undefined) {
    return diagnostic("install-detached", { host: destination.label, said: lastLine(said) || "ssh exit 255" });
  }
  return diagnostic("install-failed", { host: destination.label, status: String(failure.installStatus ?? failure.code) });
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
