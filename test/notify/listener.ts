// A loopback HTTP listener standing in for Slack's Web API and for webhooks: it records every request.
// In-process (startListener) for plc ship; as a program (node listener.js PORT FILE) inside a host
// sandbox's network namespace, writing one JSON line per request to FILE and "listening" on stdout.
import { appendFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";

export interface Received {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export const LISTENER_SCRIPT = fileURLToPath(import.meta.url);

/** `/slack/…/chat.postMessage` answers as Slack does (`/slack-refuses/…`: ok false); `/fail/…` answers 500; else 200. */
function answer(request: Received, response: ServerResponse): void {
  if (request.url.startsWith("/fail")) {
    response.writeHead(500).end("no");
  } else if (request.url.endsWith("/chat.postMessage")) {
    const ok = !request.url.startsWith("/slack-refuses");
    response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(ok ? { ok: true, channel: "C0TEST", ts: "1.2" } : { ok: false, error: "not_in_channel" }));
  } else {
    response.writeHead(200).end("ok");
  }
}

function serve(onRequest: (request: Received) => void): Server {
  return createServer((incoming: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(incoming.headers)) headers[key] = Array.isArray(value) ? value.join(", ") : (value ?? "");
      const request = { method: incoming.method ?? "", url: incoming.url ?? "", headers, body: Buffer.concat(chunks).toString("utf8") };
      onRequest(request);
      answer(request, response);
    });
  });
}

/** A listener on 127.0.0.1 in this process; `received` fills as requests arrive. */
export async function startListener(): Promise<{ port: number; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = serve((request) => received.push(request));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => { resolve(); })) };
}

if (process.argv[1] === LISTENER_SCRIPT) {
  const [port = "0", file = ""] = process.argv.slice(2);
  const server = serve((request) => { appendFileSync(file, `${JSON.stringify(request)}\n`); });
  server.listen(Number(port), "127.0.0.1", () => process.stdout.write("listening\n"));
}
