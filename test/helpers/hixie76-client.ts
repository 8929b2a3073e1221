/** A minimal hixie-76 client for tests: the protocol suite's handshake keys, then 0x00 text 0xFF frames. */
import assert from 'node:assert/strict';
import { Hixie76Parser } from '../../src/transports/shared/hixie76.js';
import { RawHttpConnection } from '../conformance/helpers.js';

export const KEY1 = '4 @1  46546xW%0l 1 5';
export const KEY2 = '12998 5 Y3 1  .P00';
/** The suite's expected answer to KEY1, KEY2 and 'aaaaaaaa'. */
export const EXPECTED = Buffer.from([0xca, 0x34, 0x00, 0xd8, 0xa5, 0x08, 0x47, 0x97, 0x2c, 0xd5, 0x71, 0x5a, 0xba, 0xbf, 0x43, 0x7b]);

/** A minimal hixie-76 client: handshake with the suite's keys, then 0x00 text 0xFF frames. */
export class Hixie76Client {
  readonly #texts: string[] = [];
  #closed = false;
  #wake: (() => void) | undefined;

  private constructor(readonly connection: RawHttpConnection) {}

  static async open(url: string): Promise<Hixie76Client> {
    const parsed = new URL(url);
    const connection = await RawHttpConnection.open(url);
    const head = await connection.request('GET', parsed.pathname, {
      headers: { Connection: 'Upgrade', Upgrade: 'WebSocket', Origin: parsed.origin, 'Sec-WebSocket-Key1': KEY1, 'Sec-WebSocket-Key2': KEY2 },
    });
    assert.equal(head.status, 101);
    connection.write('aaaaaaaa');
    assert.deepEqual(await connection.read(16), EXPECTED);
    const client = new Hixie76Client(connection);
    void client.#pump();
    return client;
  }

  async #pump(): Promise<void> {
    const parser = new Hixie76Parser(1 << 20, (text) => this.#texts.push(text));
    for (;;) {
      const chunk = await this.connection.readSome();
      if (chunk.length === 0) break;
      parser.push(chunk);
      if (parser.closed) break;
      this.#wake?.();
    }
    this.#closed = true;
    this.#wake?.();
  }

  /** The next message; undefined once the server closed. */
  async recv(): Promise<string | undefined> {
    while (this.#texts.length === 0 && !this.#closed) {
      await new Promise<void>((resolve) => {
        this.#wake = () => {
          this.#wake = undefined;
          resolve();
        };
      });
    }
    return this.#texts.shift();
  }

  send(text: string): void {
    this.connection.write(Buffer.concat([Buffer.from([0x00]), Buffer.from(text), Buffer.from([0xff])]));
  }

  close(): void {
    this.connection.write(Buffer.from([0xff, 0x00]));
    this.connection.close();
  }
}
