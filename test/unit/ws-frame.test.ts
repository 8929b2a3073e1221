// The websocket text frames the server writes itself (src/transports/shared/ws-frame.ts), byte for
// byte against ws's own framing (Sender.frame, what ws.send writes for an uncompressed message).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as wsModule from 'ws';
import { textFrame, textFrameOf } from '../../src/transports/shared/ws-frame.js';

interface FrameOptions {
  fin: boolean;
  mask: boolean;
  opcode: number;
  readOnly: boolean;
  rsv1: boolean;
}
// ws exports its Sender (`WebSocket.Sender`, `Sender.frame` is public), though @types/ws omits it.
const { Sender } = wsModule as unknown as { Sender: { frame(data: string | Buffer, options: FrameOptions): Buffer[] } };

function wsFrame(payload: string | Buffer): Buffer {
  return Buffer.concat(Sender.frame(payload, { fin: true, mask: false, opcode: 1, readOnly: true, rsv1: false }));
}

describe('websocket text frames', () => {
  it('match ws at every length encoding: 7-bit, 16-bit and 64-bit (RFC 6455, 5.2)', () => {
    for (const length of [0, 1, 125, 126, 127, 1_024, 1_025, 3_072, 65_535, 65_536, 70_000]) {
      const payload = 'x'.repeat(length);
      const frame = textFrame(payload);
      assert.deepEqual(frame, wsFrame(payload), `length ${length}`);
      assert.deepEqual(textFrameOf(Buffer.from(payload)), frame, `length ${length}, from a Buffer`);
    }
  });

  it('count the UTF-8 bytes, not the characters', () => {
    // 42 characters, 126 bytes: the 16-bit length form, which counting characters would miss.
    const wide = '€'.repeat(42);
    assert.equal(Buffer.byteLength(wide), 126);
    assert.equal(textFrame(wide)[1], 126);
    assert.deepEqual(textFrame(wide), wsFrame(wide));
    assert.deepEqual(textFrame('é𝄞'), wsFrame('é𝄞'));
    // The longest text cut from the slab (1 024 units, 3 072 bytes) and the first that is not.
    for (const text of ['€'.repeat(1_024), '€'.repeat(1_025), '\ud800'.repeat(1_024)]) assert.deepEqual(textFrame(text), wsFrame(text));
  });

  it('match ws for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (payload) => {
        assert.deepEqual(textFrame(payload), wsFrame(payload));
        assert.deepEqual(textFrameOf(Buffer.from(payload)), wsFrame(payload));
      }),
    );
  });

  it('keep every frame intact while later ones are built (small frames share a slab)', () => {
    const texts: string[] = [];
    const frames: Buffer[] = [];
    for (let i = 0; i < 5_000; i++) {
      // Lengths from 0 to 1 100 units (past the slab's limit), one-, two-, three- and four-byte characters.
      const text = ['a', 'é', '€', '𝄞'][i % 4]!.repeat(i % 600) + String(i);
      texts.push(text);
      frames.push(textFrame(text));
    }
    texts.forEach((text, i) => assert.deepEqual(frames[i], wsFrame(text), `frame ${i}`));
  });

  it('build a shared payload once, and a new payload anew', () => {
    const payload = Buffer.from('a["broadcast"]');
    const first = textFrameOf(payload);
    assert.equal(textFrameOf(payload), first, 'the same frame for the same payload in a row');
    const other = Buffer.from('a["broadcast"]');
    const again = textFrameOf(other);
    assert.notEqual(again, first);
    assert.deepEqual(again, first);
    assert.deepEqual(textFrameOf(Buffer.from('a["next"]')), wsFrame('a["next"]'));
  });
});
