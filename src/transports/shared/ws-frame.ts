/**
 * The websocket frames this server sends for SockJS: each one an unfragmented, unmasked text
 * frame (RFC 6455, section 5.2: FIN set, opcode 0x1, no RSV bits, no mask from a server), built
 * whole in one Buffer so that it goes to the socket in one write. ws's `Sender.frame` builds the
 * same bytes as two pieces (header, payload), which `ws.send` writes corked, per socket.
 * test/unit/ws-frame.test.ts checks these frames byte for byte against `Sender.frame`.
 */

const FIN_TEXT = 0x81;

/** Header bytes for a payload of `length` bytes (RFC 6455, 5.2: 7-bit, 16-bit or 64-bit length). */
function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65_536 ? 4 : 10;
}

function writeHeader(frame: Buffer, length: number): number {
  frame[0] = FIN_TEXT;
  if (length < 126) {
    frame[1] = length;
    return 2;
  }
  if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
    return 4;
  }
  frame[1] = 127;
  // A 64-bit length; a Buffer is far below 2^53 bytes, so the high half fits a 32-bit write.
  frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  frame.writeUInt32BE(length >>> 0, 6);
  return 10;
}

/**
 * Small frames are cut from a slab of their own, as Node's Buffer pool does for small Buffers:
 * the text is written where at most 3 bytes per UTF-16 unit fit, and the header put in front once
 * the byte count is known, so the text is not measured first (`Buffer.byteLength`): 290 -> 150 ns
 * per 64-byte frame in a loop. A frame is never written to again once cut; a slab is dropped
 * (left to the frames that still use it) when the next frame does not fit.
 */
const SLAB_SIZE = 8192;
/** Longest text (in UTF-16 units) taken from the slab: at most 3 bytes each, plus the header. */
const SLAB_MAX_UNITS = 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabOffset = 0;

/** A text frame carrying `payload` (UTF-8). */
export function textFrame(payload: string): Buffer {
  if (payload.length <= SLAB_MAX_UNITS) {
    const most = payload.length * 3;
    // 4 bytes for the header: at most 3 072 bytes of text need no more than the 16-bit length.
    if (slabOffset + 4 + most > SLAB_SIZE) {
      slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
      slabOffset = 0;
    }
    const start = slabOffset + 4;
    const length = slab.write(payload, start, most);
    const header = length < 126 ? 2 : 4;
    const frame = slab.subarray(start - header, start + length);
    writeHeader(frame, length);
    // Aligned like Node's pool, for whatever reads the next frame in words.
    slabOffset = (start + length + 7) & ~7;
    return frame;
  }
  const length = Buffer.byteLength(payload);
  const frame = Buffer.allocUnsafe(headerLength(length) + length);
  frame.write(payload, writeHeader(frame, length));
  return frame;
}

let lastPayload: Buffer | undefined;
let lastFrame: Buffer | undefined;

/**
 * A text frame carrying the bytes of `payload`. A broadcast hands the same payload Buffer to
 * every recipient's receiver in a row: the frame is built for the first and reused for the
 * others, so each recipient costs one socket write. Only the last payload is remembered (held
 * strongly, so no other Buffer can be mistaken for it); neither Buffer is ever written to again.
 */
export function textFrameOf(payload: Buffer): Buffer {
  if (payload === lastPayload) return lastFrame!;
  const frame = Buffer.allocUnsafe(headerLength(payload.length) + payload.length);
  payload.copy(frame, writeHeader(frame, payload.length));
  lastPayload = payload;
  lastFrame = frame;
  return frame;
}
