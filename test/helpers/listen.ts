/** Starts a Koa app (or any request handler) on 127.0.0.1:0 and closes it completely afterwards. */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type Koa from 'koa';

export interface Listening {
  readonly server: http.Server;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Closes the server and destroys every connection still open. */
  close(): Promise<void>;
}

export async function listen(app: Koa | http.RequestListener): Promise<Listening> {
  const handler = typeof app === 'function' ? app : app.callback();
  const server = http.createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        for (const socket of sockets) socket.destroy();
      }),
  };
}
