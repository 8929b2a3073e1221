/** A raw `ws` client for SockJS websocket URLs: frames as the server sent them. */
import { WebSocket } from 'ws';

export class FrameClient {
  readonly ws: WebSocket;
  readonly frames: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(url: string) {
    this.ws = new WebSocket(url.replace(/^http/, 'ws'));
    this.ws.on('message', (data) => {
      this.frames.push((data as Buffer).toString('utf8'));
      this.#waiters = this.#waiters.filter((waiter) => {
        if (this.frames.length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
    });
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Resolves once `count` frames in total have arrived. */
  waitFor(count: number): Promise<string[]> {
    if (this.frames.length >= count) return Promise.resolve(this.frames);
    return new Promise((resolve) => this.#waiters.push({ count, resolve: () => resolve(this.frames) }));
  }

  /** Sends messages as a SockJS client does: a JSON array. */
  send(...messages: unknown[]): void {
    this.ws.send(JSON.stringify(messages));
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}
