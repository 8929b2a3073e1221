/**
 * xhr-streaming receive: one session reads messages over POST .../xhr_streaming
 * while it asks the flood route for more over xhr_send (`flood:<start>:<count>`,
 * keeping up to `window` messages requested ahead, `batch` per request). When the
 * server ends the response at its response limit, the client POSTs again on the
 * same session, as sockjs-client does. Measures messages/s read back.
 */
import { floodCommand, floodMessage } from '../../shared/messages.js';
import { Failures, newSessionId, sleep, xhrPath, type Control, type LoadParams, type ScenarioResult, measureWindow } from '../common.js';
import { buildRequest, HttpConn, LineSplitter, type ResponseHandler } from '../http-client.js';
import { countMessages, decodeMessages, describe, FRAME_ARRAY, FRAME_CLOSE, FRAME_HEARTBEAT, FRAME_OPEN } from '../sockjs-frames.js';

/** The 2 048 `h` a streaming response starts with (a prelude for old browsers). */
const PRELUDE_BYTES = 2048;

export async function xhrStreaming(p: LoadParams, control: Control): Promise<ScenarioResult> {
  const failures = new Failures();
  const id = newSessionId();
  const stream = new HttpConn(p.port);
  const sender = new HttpConn(p.port);
  const streamRequest = buildRequest('POST', xhrPath('/flood', id, 'xhr_streaming'), p.port, '');
  const sendPath = xhrPath('/flood', id, 'xhr_send');
  let running = true;
  let opened = false;
  let requested = 0;
  let received = 0;
  let responses = 0;
  let measuring = false;
  let counted = 0;
  let onOpen: (() => void) | null = null;

  let sendStatus = 0;
  const sendHandler: ResponseHandler = {
    onHead: (code) => {
      sendStatus = code;
    },
    onBody: () => {},
    onEnd: () => {
      if (sendStatus !== 204) failures.add(`xhr_send answered ${sendStatus}, expected 204`);
      request();
    },
    onError: (error) => {
      if (running) failures.add(`xhr_send failed: ${error.message}`);
    },
  };
  const request = (): void => {
    if (!running || !opened || sender.busy || requested - received > p.window - p.batch) return;
    const body = JSON.stringify([floodCommand(requested, p.batch)]);
    requested += p.batch;
    sendStatus = 0;
    sender.send(buildRequest('POST', sendPath, p.port, body), sendHandler);
  };

  const onLine = (line: Buffer): void => {
    switch (line[0]) {
      case FRAME_HEARTBEAT:
        // The prelude is one line of 2 048 `h`; a heartbeat is a single `h`.
        if (line.length !== 1 && line.length !== PRELUDE_BYTES) failures.add(`bad prelude/heartbeat of ${line.length} bytes`);
        break;
      case FRAME_OPEN:
        if (opened) failures.add('second open frame on a reconnected stream');
        opened = true;
        onOpen?.();
        break;
      case FRAME_ARRAY: {
        const k = countMessages(line);
        if (p.verify) {
          let messages: unknown[] = [];
          try {
            messages = decodeMessages(line);
          } catch (error) {
            failures.add(`undecodable frame: ${(error as Error).message}`);
          }
          if (messages.length !== k) failures.add(`frame holds ${messages.length} messages, counted ${k}`);
          messages.forEach((message, j) => {
            const expected = floodMessage(received + j);
            if (message !== expected) failures.add(`message ${received + j} is ${JSON.stringify(message)}, expected ${JSON.stringify(expected)}`);
          });
        }
        received += k;
        if (received > requested) failures.add(`${received} messages received, only ${requested} requested`);
        if (measuring) counted += k;
        request();
        break;
      }
      case FRAME_CLOSE:
        failures.add(`server closed the session: ${describe(line)}`);
        running = false;
        break;
      default:
        failures.add(`unknown frame ${describe(line)}`);
    }
  };

  let streamStatus = 0;
  const lines = new LineSplitter(onLine);
  const streamHandler: ResponseHandler = {
    onHead: (code) => {
      streamStatus = code;
    },
    onBody: (chunk) => {
      if (streamStatus === 200) lines.push(chunk);
    },
    onEnd: () => {
      if (streamStatus !== 200) failures.add(`xhr_streaming answered ${streamStatus}`);
      else if (lines.leftover !== 0) failures.add('xhr_streaming response ends mid-frame');
      else openStream(); // the response limit was reached: continue on a new request
    },
    onError: (error) => {
      if (running) failures.add(`xhr_streaming failed: ${error.message}`);
    },
  };
  const openStream = (): void => {
    if (!running && received >= requested) return;
    responses++;
    streamStatus = 0;
    lines.reset();
    stream.send(streamRequest, streamHandler);
  };

  const ready = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 30_000);
    onOpen = () => {
      clearTimeout(timer);
      resolve(true);
    };
  });
  openStream();
  if (!(await ready)) failures.add('the streaming session did not open within 30 s');
  onOpen = null;
  request();

  const seconds = await measureWindow(control, p.warmupSec, p.durationSec, () => {
    counted = 0;
    measuring = true;
  });
  measuring = false;
  running = false;
  const messages = counted;
  if (p.verify) {
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline && received < requested && !failures.any) await sleep(20);
    if (received < requested) failures.add(`${requested - received} requested messages never arrived`);
  }
  stream.destroy();
  sender.destroy();

  return {
    ok: !failures.any && messages > 0,
    errors: messages > 0 ? failures.summary() : [...failures.summary(), 'no message received in the window'],
    metrics: { msgsPerSec: messages / seconds },
    ops: messages,
    details: { messages, responses, received },
  };
}
