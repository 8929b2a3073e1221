/**
 * Issue 9, fault 5: the hixie-76 parser is linear in the bytes pushed, however they are chunked.
 * Measured by the bytes it examines, not by time: each byte once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hixie76Parser } from '../../src/transports/shared/hixie76.js';

function frame(text: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), Buffer.from(text, 'utf8'), Buffer.from([0xff])]);
}

/** Pushes `stream` in writes of `size` bytes; the texts, and the bytes the parser examined. */
function parseInWrites(stream: Buffer, size: number, maxMessageSize = 2 << 20): { texts: string[]; examined: number } {
  const texts: string[] = [];
  const parser = new Hixie76Parser(maxMessageSize, (text) => texts.push(text));
  for (let at = 0; at < stream.length; at += size) assert.equal(parser.push(stream.subarray(at, at + size)), true);
  return { texts, examined: parser.examined };
}

describe('Hixie76Parser cost', () => {
  // 1 MB of text with two- and three-byte characters, so writes also split characters.
  const text = 'aé€'.repeat(Math.ceil((1 << 20) / 6));
  const stream = frame(text);

  for (const size of [512, 64 * 1024, 7]) {
    it(`a 1 MB frame in ${size}-byte writes: one message, each byte examined once`, () => {
      const { texts, examined } = parseInWrites(stream, size);
      assert.equal(texts.length, 1);
      assert.equal(texts[0], text);
      assert.equal(examined, stream.length);
    });
  }

  it('many small frames in odd-sized writes: each byte examined once', () => {
    const messages = Array.from({ length: 2000 }, (_, i) => `["m${i}"]`);
    const many = Buffer.concat(messages.map(frame));
    const { texts, examined } = parseInWrites(many, 37);
    assert.deepEqual(texts, messages);
    assert.equal(examined, many.length);
  });

  it('the size limit holds across writes, before the frame ends', () => {
    const parser = new Hixie76Parser(1000, () => assert.fail('no message expected'));
    assert.equal(parser.push(Buffer.from([0x00])), true);
    assert.equal(parser.push(Buffer.alloc(600, 0x61)), true);
    assert.equal(parser.push(Buffer.alloc(600, 0x61)), false);
    // What it refused it did not keep reading.
    assert.ok(parser.examined <= 1 + 1200);
  });

  it('the closing handshake split across writes; bytes after it are ignored', () => {
    const texts: string[] = [];
    const parser = new Hixie76Parser(100, (t) => texts.push(t));
    assert.equal(parser.push(Buffer.from([0x00, 0x61, 0xff, 0xff])), true);
    assert.equal(parser.closed, false);
    assert.equal(parser.push(Buffer.from([0x00, 0x00, 0x62])), true);
    assert.equal(parser.closed, true);
    assert.deepEqual(texts, ['a']);
    assert.equal(new Hixie76Parser(100, () => {}).push(Buffer.from([0xff, 0x01])), false);
  });
});
