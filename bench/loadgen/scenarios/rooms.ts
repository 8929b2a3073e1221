/**
 * Rooms: `sessions` websocket sessions, session i a member of room `i % rooms`,
 * spread over the server's processes (`ports`) so that every room has members in
 * each. A sender (one more session, in no room, on the first process) sends
 * `messages` messages at once, each to ONE room (message j to room j % rooms),
 * and the server sends each to its room's members. Measures the time until every
 * member has every message of its room, `bursts` times over the same sessions:
 * deliveries/s, and (through `ops`) the server's CPU per delivery.
 *
 * With `paced`, the sender sends one message at a time, the next once every
 * member of its room has the last: nothing can coalesce, each delivery is one
 * frame and one write; the time is the sum over the burst's messages.
 *
 * With `split`, a room's members are all on one process (room r on process
 * r % processes): what a process receives of other processes' rooms then shows.
 *
 * Two protocols: SockJS on the `/rooms` route (`j:<room>` joins, `<room>|<text>`
 * sends; see bench/servers/koa-sockjs.ts), and Socket.IO 4 (`join`, `to`
 * events on its /rooms server; bench/servers/socketio.ts), spoken over the same lean websocket
 * client: Engine.IO's open packet `0{...}`, the namespace connect `40`, events
 * `42[...]`, ping `2` answered `3`.
 */
import { roomMessage, ROOM_SEQ_OFFSET, SEQ_DIGITS } from '../../shared/messages.js';
import { median } from '../../shared/stats.js';
import { countMessages, decodeMessages, FRAME_ARRAY, FRAME_CLOSE, FRAME_OPEN } from '../sockjs-frames.js';
import { Failures, newSessionId, openSessions, sleep, wsPath, type Control, type LoadParams, type ScenarioResult } from '../common.js';
import { maskedFrame, WsClient, type WsHandlers } from '../ws-client.js';

const BURST_TIMEOUT_MS = 60_000;
const JOINED_SOCKJS = 'a["joined"]';
const JOINED_SOCKET_IO = '42["joined"]';
const MESSAGE_SOCKET_IO = Buffer.from('42["m",');

function roomName(room: number): string {
  return `room${room}`;
}

/** The frame a client sends for one message of its own. */
function clientFrame(protocol: LoadParams['protocol'], packet: string): Buffer {
  return maskedFrame(protocol === 'socketio' ? packet : JSON.stringify([packet]));
}

export async function rooms(p: LoadParams, control: Control): Promise<ScenarioResult> {
  if (p.protocol === 'raw') throw new TypeError('the rooms scenario speaks SockJS or Socket.IO, not raw websocket');
  const socketIo = p.protocol === 'socketio';
  const failures = new Failures();
  const n = p.sessions;
  const roomCount = Math.min(p.rooms, n);
  const m = p.messages;
  /** Messages each session has received (its room's), over all bursts. */
  const received = new Float64Array(n);
  const lastSeq = new Float64Array(n).fill(-1);
  /** How many of the first `sent` messages (sequence numbers 0 .. sent-1) go to room r. */
  const sentTo = (sent: number, r: number): number => (sent > r ? Math.floor((sent - 1 - r) / roomCount) + 1 : 0);
  const openCallbacks: Array<() => void> = [];
  const joinedCallbacks: Array<() => void> = [];
  const target = new Float64Array(n); // messages session i must have once what was sent arrived
  let done = 0;
  /** Sessions whose target the current step raised: the step is over when they all reach it. */
  let expected = n;
  let finished = false;
  let burstDone: ((at: number) => void) | null = null;

  const countDelivered = (i: number, k: number, payload: Buffer): void => {
    if (p.verify) {
      const seqs = socketIo ? [socketIoSeq(payload)] : (decodeMessages(payload) as string[]).map((text) => Number(text.slice(ROOM_SEQ_OFFSET, ROOM_SEQ_OFFSET + SEQ_DIGITS)));
      for (const seq of seqs) {
        if (seq % roomCount !== i % roomCount) failures.add(`session ${i} (room ${i % roomCount}) got message ${seq}, of room ${seq % roomCount}`);
        if (seq <= lastSeq[i]!) failures.add(`session ${i}: message ${seq} after ${lastSeq[i]}`);
        lastSeq[i] = seq;
      }
    }
    const before = received[i]!;
    const now = before + k;
    received[i] = now;
    if (now > target[i]!) failures.add(`session ${i}: ${now} messages received, only ${target[i]} sent to its room`);
    if (before < target[i]! && now >= target[i]!) {
      done++;
      if (done === expected) burstDone?.(performance.now());
    }
  };

  const handlers: WsHandlers = {
    // Open on SockJS's `o`, or once Engine.IO's open packet and the namespace connect are through.
    onUpgrade: () => {},
    onMessage: (client, payload) => {
      const i = client.index;
      if (socketIo) {
        const type = payload[0];
        if (type === 0x32 /* 2: ping */) client.write(PONG);
        else if (type === 0x30 /* 0: open */) client.write(CONNECT);
        else if (payload.subarray(0, 2).toString() === '40') openCallbacks[i]?.();
        else if (payload.subarray(0, MESSAGE_SOCKET_IO.length).equals(MESSAGE_SOCKET_IO)) {
          if (i < n) countDelivered(i, 1, payload);
          else failures.add('the sender received a room message');
        } else if (payload.toString() === JOINED_SOCKET_IO) joinedCallbacks[i]?.();
        else failures.add(`session ${i}: unexpected Socket.IO packet ${payload.toString('utf8', 0, 60)}`);
        return;
      }
      switch (payload[0]) {
        case FRAME_OPEN:
          openCallbacks[i]?.();
          break;
        case FRAME_ARRAY:
          if (payload.length === JOINED_SOCKJS.length && payload.toString() === JOINED_SOCKJS) joinedCallbacks[i]?.();
          else if (i < n) countDelivered(i, countMessages(payload), payload);
          else failures.add('the sender received a room message');
          break;
        case FRAME_CLOSE:
          failures.add(`session ${i}: closed by the server: ${payload.toString()}`);
          break;
        default: // heartbeats
      }
    },
    onClose: (client, error) => {
      if (!finished) failures.add(`session ${client.index} closed early${error ? `: ${error.message}` : ''}`);
    },
  };

  const ports = p.ports.length > 0 ? p.ports : [p.port];
  const path = (): string => wsPath('/rooms', p.protocol, newSessionId());
  // Session i on port (i / rooms) % ports: every room gets members on every process. Split:
  // room r's members all on process r % ports, so a process that receives the traffic of every
  // room (not only of its own) shows it in its CPU.
  const portOf = (i: number): number => {
    if (i === n) return ports[0]!;
    return ports[(p.split ? i % roomCount : Math.floor(i / roomCount)) % ports.length]!;
  };
  const clients = await openSessions(n + 1, p.concurrency, 180_000, (index, opened) => {
    openCallbacks[index] = opened;
    return new WsClient(portOf(index), path(), index, handlers);
  });
  const sender = clients[n]!;

  // Join, a window at a time; `joined` comes once the join holds on every process.
  await new Promise<void>((resolve, reject) => {
    let next = 0;
    let joined = 0;
    const timer = setTimeout(() => reject(new Error(`only ${joined} of ${n} sessions joined their room within 120 s`)), 120_000);
    const start = (): void => {
      if (next >= n) return;
      const i = next++;
      joinedCallbacks[i] = () => {
        joinedCallbacks[i] = () => failures.add(`session ${i}: joined twice`);
        if (++joined === n) {
          clearTimeout(timer);
          resolve();
        } else start();
      };
      const room = roomName(i % roomCount);
      clients[i]!.write(clientFrame(p.protocol, socketIo ? `42${JSON.stringify(['join', room])}` : `j:${room}`));
    };
    for (let k = 0; k < Math.min(p.concurrency, n); k++) start();
  });

  // The sender's frames, built before the clock starts: message seq to room seq % rooms.
  const frames: Buffer[][] = [];
  for (let b = 0; b < p.bursts; b++) {
    frames.push([]);
    for (let j = 0; j < m; j++) {
      const seq = b * m + j;
      const room = roomName(seq % roomCount);
      const text = roomMessage(seq);
      frames[b]!.push(clientFrame(p.protocol, socketIo ? `42${JSON.stringify(['to', room, text])}` : `${room}|${text}`));
    }
  }
  const membersOf: number[][] = Array.from({ length: roomCount }, () => []);
  for (let i = 0; i < n; i++) membersOf[i % roomCount]!.push(i);
  await sleep(200); // let the server settle after the connection storm

  /** Sends frames (messages first .. first+count-1) and resolves when their rooms' members all have them. */
  const step = async (bytes: Buffer, first: number, count: number): Promise<number | null> => {
    const raised = new Set<number>();
    for (let seq = first; seq < first + count; seq++) {
      for (const i of membersOf[seq % roomCount]!) {
        target[i]!++;
        raised.add(i);
      }
    }
    done = 0;
    expected = raised.size;
    const finishedAt = new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), BURST_TIMEOUT_MS);
      burstDone = (at) => {
        clearTimeout(timer);
        resolve(at);
      };
    });
    const t0 = performance.now();
    sender.write(bytes);
    const t1 = await finishedAt;
    burstDone = null;
    return t1 === null ? null : t1 - t0;
  };

  const times: number[] = [];
  control.mark('start');
  for (let b = 0; b < p.bursts && !failures.any; b++) {
    let took: number | null = 0;
    if (p.paced) {
      // One message at a time, the next once the last member of its room has it: nothing can coalesce.
      for (let j = 0; j < m && took !== null; j++) {
        const one = await step(frames[b]![j]!, b * m + j, 1);
        took = one === null ? null : took + one;
      }
    } else {
      took = await step(Buffer.concat(frames[b]!), b * m, m);
    }
    if (took === null) {
      failures.add(`burst ${b}: only ${done} of ${expected} members had their room's messages after ${BURST_TIMEOUT_MS} ms`);
      break;
    }
    times.push(took);
    await sleep(100);
  }
  control.mark('end');
  finished = true;
  for (const client of clients) client.destroy();

  // Every member gets every message of its room: per burst, members per room times messages.
  const deliveries = Array.from({ length: n }, (_, i) => sentTo(times.length * m, i % roomCount)).reduce((sum, k) => sum + k, 0);
  const perBurst = times.length > 0 ? deliveries / times.length : 0;
  const burstMs = median(times);
  return {
    ok: !failures.any && times.length === p.bursts,
    errors: failures.summary(),
    metrics: {
      completionMs: burstMs,
      deliveriesPerSec: perBurst / (burstMs / 1000),
    },
    ops: deliveries,
    details: { burstMs: times, deliveriesPerBurst: perBurst, processes: ports.length },
  };
}

const PONG = maskedFrame('3');
const CONNECT = maskedFrame('40');

/** The sequence number in `42["m","r0000000123:xxx"]`. */
function socketIoSeq(payload: Buffer): number {
  const start = MESSAGE_SOCKET_IO.length + 1 + ROOM_SEQ_OFFSET;
  return Number(payload.toString('latin1', start, start + SEQ_DIGITS));
}
