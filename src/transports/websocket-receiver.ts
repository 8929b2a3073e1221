/** Receiver over a websocket connection (ws). Frames go out as text messages. */
import { WebSocket } from 'ws';
import type { Receiver } from './receiver.js';

/** Shared send options: a Buffer frame (a broadcast) still goes out as a text message. */
const AS_TEXT = { binary: false } as const;

export class WebsocketReceiver implements Receiver {
  onAbort: (() => void) | undefined;
  /** True once the session layer ended the receiver or the client closed the websocket. */
  protected ended = false;

  constructor(
    readonly transport: string,
    readonly ws: WebSocket,
  ) {
    ws.on('close', () => {
      if (this.ended) return;
      this.ended = true;
      this.onAbort?.();
    });
  }

  get backlog(): number {
    return this.ws.bufferedAmount;
  }

  protected get writable(): boolean {
    return !this.ended && this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: string | Buffer): boolean {
    if (!this.writable) return false;
    if (typeof frame === 'string') this.ws.send(frame);
    else this.ws.send(frame, AS_TEXT);
    return true;
  }

  end(frame?: string): void {
    if (this.ended) return;
    this.ended = true;
    if (frame !== undefined && this.ws.readyState === WebSocket.OPEN) this.ws.send(frame);
    this.ws.close(1000);
  }
}
