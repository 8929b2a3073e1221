// A tiny round-robin HTTP proxy, for this demo only: each new request (and each websocket
// upgrade) goes to the next backend, with no stickiness at all. In production use nginx or
// HAProxy (see README.md). Like them, it skips a backend that refuses the connection.
import http from 'node:http';
import { connect, type Socket } from 'node:net';

export function createRoundRobinProxy(backends: readonly number[], host = '127.0.0.1'): http.Server {
  let next = 0;
  const pick = (tried: Set<number>): number | undefined => {
    for (let i = 0; i < backends.length; i++) {
      const port = backends[next++ % backends.length]!;
      if (!tried.has(port)) return port;
    }
    return undefined;
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, tried: Set<number>): void => {
    const port = pick(tried);
    if (port === undefined) {
      res.writeHead(502, { 'Content-Type': 'text/plain' }).end('No backend is up.');
      return;
    }
    tried.add(port);
    const upstream = http.request({ host, port, method: req.method, path: req.url, headers: req.headers, agent: false });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      res.flushHeaders();
      answer.pipe(res);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') return forward(req, res, body, tried);
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'Content-Type': 'text/plain' }).end('Bad gateway.');
    });
    // A client that goes away takes its request upstream with it (the server must see it).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => forward(req, res, Buffer.concat(chunks), new Set()));
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const port = pick(new Set());
    if (port === undefined) return socket.destroy();
    const upstream = connect(port, host, () => {
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      upstream.write(raw + '\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  });
  return server;
}
