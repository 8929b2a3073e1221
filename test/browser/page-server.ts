// Serves the test page from an origin of its own, so every SockJS request the page makes is
// cross-origin, as it is for most real deployments (and as the iframe transports require: they
// only make sense when the page and the SockJS server are different origins).
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/** The real sockjs-client 1.6 bundle from node_modules, served locally: no CDN. */
export const SOCKJS_CLIENT_FILE = createRequire(import.meta.url).resolve('sockjs-client/dist/sockjs.min.js');

export interface ListeningServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 and a free port, through `listen` so a Koa app can be started
 * with its own `app.listen(port, host, callback)`; the result closes the server together with
 * every connection still open on it.
 */
export async function listenOnFreePort(
  listen: (port: number, host: string, onListening: () => void) => Server,
): Promise<ListeningServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    const started = listen(0, '127.0.0.1', () => resolve(started));
    started.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets would hold close() open until they time out.
        server.closeAllConnections();
      }),
  };
}

export interface StaticFile {
  /** Absolute path of the file on disk. */
  file: string;
  contentType: string;
}

/** A static file server for a fixed set of URL paths; anything else is a 404. */
export function startPageServer(files: Record<string, StaticFile>): Promise<ListeningServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/favicon.ico') {
      // Chromium asks for one; a 404 would show up in every failing test's page log.
      res.writeHead(204).end();
      return;
    }
    const entry = Object.hasOwn(files, path) ? files[path] : undefined;
    if (req.method !== 'GET' || entry === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    readFile(entry.file).then(
      (body) => res.writeHead(200, { 'content-type': entry.contentType, 'cache-control': 'no-store' }).end(body),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
    );
  });
  return listenOnFreePort((port, host, onListening) => server.listen(port, host, onListening));
}
