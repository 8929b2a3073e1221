/**
 * A poll whose client stops reading: the stalled reader of issue 9 (a new poll while the
 * previous answer is unread is closed with 1013), on a raw socket so nothing reads for it.
 */
import net from 'node:net';

/** A poll on a connection of its own whose client does not read what comes back. */
export function deafPoll(port: number, path: string): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => {});
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  return socket;
}

/** Reads what is left on a socket until the server ends it. */
export function readRest(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.resume();
  });
}
