/** Gives every Connection the same ids and the same delivery rules for `onFrame`/`onClose`. */

import type { ConnectionCounters } from './connection';

let nextConnectionId = 1;

/**
 * Frames that arrive before the engine sets `onFrame` (between the socket opening and the
 * handshake starting) are kept and delivered when it is set; a close that happens before
 * `onClose` is set is reported when it is.
 */
export abstract class ConnectionBase {
  readonly id = nextConnectionId++;
  readonly counters: ConnectionCounters = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, rtt: undefined };
  private early: Buffer[] | null = [];
  private frameHandler: (frame: Buffer) => void = (frame) => this.early?.push(frame);
  private closeHandler: ((code: number, reason: string) => void) | null = null;
  private closedWith: [number, string] | null = null;

  get onFrame(): (frame: Buffer) => void {
    return this.frameHandler;
  }

  set onFrame(handler: (frame: Buffer) => void) {
    this.frameHandler = handler;
    const early = this.early;
    this.early = null;
    if (early !== null) for (const frame of early) handler(frame);
  }

  get onClose(): (code: number, reason: string) => void {
    return this.closeHandler ?? (() => {});
  }

  set onClose(handler: (code: number, reason: string) => void) {
    this.closeHandler = handler;
    if (this.closedWith !== null) handler(...this.closedWith);
  }

  /** For subclasses: a frame arrived. */
  protected deliver(frame: Buffer): void {
    this.counters.framesIn++;
    this.counters.bytesIn += frame.length;
    this.frameHandler(frame);
  }

  /** For subclasses: a frame is on its way out. */
  protected countOut(frame: Buffer, body?: Buffer): void {
    this.counters.framesOut++;
    this.counters.bytesOut += frame.length + (body === undefined ? 0 : body.length);
  }

  /** For subclasses: the connection is gone (once). */
  protected reportClose(code: number, reason: string): void {
    if (this.closedWith !== null) return;
    this.closedWith = [code, reason];
    this.closeHandler?.(code, reason);
  }
}
