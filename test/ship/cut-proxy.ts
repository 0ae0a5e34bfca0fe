// An ssh ProxyCommand that cuts the connection after N bytes from the client: a network failure
// midway through a transfer. Usage: node cut-proxy.js HOST PORT BYTES. Does nothing when imported.
import { connect } from "node:net";

function relay(host: string, port: number, limit: number): void {
  const socket = connect(port, host);
  let sent = 0;
  process.stdin.on("data", (chunk: Buffer) => {
    if (sent + chunk.length >= limit) {
      socket.write(chunk.subarray(0, Math.max(0, limit - sent)));
      socket.destroy();
      process.exit(0);
    }
    sent += chunk.length;
    socket.write(chunk);
  });
  socket.pipe(process.stdout);
  socket.on("close", () => process.exit(0));
  socket.on("error", () => process.exit(1));
}

const [host, port, limit] = process.argv.slice(2);
if (host !== undefined && port !== undefined && limit !== undefined && process.argv[1]?.endsWith("cut-proxy.js") === true) {
  relay(host, Number(port), Number(limit));
}
