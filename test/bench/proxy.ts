// A delaying TCP proxy on loopback: every chunk is held 25 ms before it is passed on, each way, so a
// round trip costs 50 ms more (this kernel has no netem). Order is kept: equal delays fire in order.
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface DelayProxy {
  port: number;
  close(): Promise<void>;
}

function delayInto(from: Socket, to: Socket, delayMs: number): void {
  from.on("data", (chunk: Buffer) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
  });
  from.on("end", () => {
    setTimeout(() => to.end(), delayMs);
  });
  from.on("error", () => to.destroy());
}

/** Listens on 127.0.0.1 and forwards each connection to 127.0.0.1:targetPort. */
export function startDelayProxy(targetPort: number, delayMs = 25): Promise<DelayProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    }
    delayInto(client, upstream, delayMs);
    delayInto(upstream, client, delayMs);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      resolve({
        port,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => {
              done();
            });
          }),
      });
    });
  });
}
