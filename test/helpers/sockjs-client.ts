/** sockjs-client (the real npm client) in Node, with promises for what tests wait on. */
import SockJS from 'sockjs-client';

export interface ClientClose {
  code: number;
  reason: string;
}

export class TestClient {
  readonly sock: WebSocket;
  readonly received: unknown[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<ClientClose>;
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  /** `timeout`: sockjs-client's connect timeout (by default derived from the /info round trip). */
  constructor(url: string, transport: string, options: { timeout?: number } = {}) {
    const clientOptions = options.timeout === undefined ? { transports: [transport] } : { transports: [transport], timeout: options.timeout };
    this.sock = new SockJS(url, null, clientOptions) as unknown as WebSocket;
    this.opened = new Promise((resolve, reject) => {
      this.sock.onopen = () => resolve();
      this.sock.onerror = () => reject(new Error('sockjs-client error'));
    });
    // A test that never awaits `opened` must not die of an unhandled rejection.
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.sock.onclose = (event) => resolve({ code: event.code, reason: event.reason });
    });
    this.sock.onmessage = (event) => {
      this.received.push(event.data);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (this.received.length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
    };
  }

  /** The transport sockjs-client really uses (it can fall back silently). */
  get transport(): string | undefined {
    return (this.sock as unknown as { transport?: string }).transport;
  }

  /** Resolves once `count` messages in total have arrived. */
  waitFor(count: number): Promise<unknown[]> {
    if (this.received.length >= count) return Promise.resolve(this.received);
    return new Promise((resolve) => this.#waiters.push({ count, resolve: () => resolve(this.received) }));
  }

  send(data: string): void {
    this.sock.send(data);
  }

  close(code?: number, reason?: string): Promise<ClientClose> {
    this.sock.close(code, reason);
    return this.closed;
  }
}
