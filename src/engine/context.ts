import type { Readable, Writable } from 'node:stream';
import { dataTypeName, decodePayload } from '../protocol/payload';
import type { DataTypeName } from '../protocol/constants';
import { RequestTimeoutError } from '../errors';

/**
 * The public face of the unit a context came from (`api/Unit`). The engine only carries it, so
 * that handlers and requesters see the Unit users know; the API narrows the type.
 */
export interface UnitFace {
  readonly id: string;
  readonly name: string;
}

/**
 * What a handler or a requester gets: the data with its type, where it came from, and for a
 * request under way, the reply being decided (`response`, `error`) and `next()` for middleware.
 *
 * The payload is a view of the received frame and is decoded on first use, once.
 */
export class Context {
  // `any`, as in 1.1.x, so that code written for it (`ctx.response += '!'`) still compiles.
  /** The response, once decided (handlers and middleware after `next()`). */
  response: any = undefined;
  /** The error the request is rejected with, once decided. */
  error: any = undefined;
  /** Round-trip time in milliseconds, on a response context. */
  rtt: number | undefined = undefined;
  /** The stream to read, in an `onReadable` handler and on a requester's `Readable` ready. */
  readable: Readable | undefined = undefined;
  /** The stream to write, in an `onWritable` handler. */
  writable: Writable | undefined = undefined;

  /**
   * On an incoming request: when the caller stops waiting, in epoch milliseconds, if it said so
   * (extension `deadline`, offered by peers of this library). `ctx.signal` aborts then.
   */
  deadline: number | undefined = undefined;

  /** @internal set by the middleware runner */
  _next: (() => Promise<void>) | null = null;

  /** Made on first use of `signal`, or when aborted before it. */
  private abortion: Abortion | null = null;

  private decoded = false;
  private value: unknown = undefined;
  /** A type set by middleware (1.1.x lets it be reassigned). */
  private typeOverride: string | undefined = undefined;

  constructor(
    readonly unit: UnitFace,
    readonly role: string,
    readonly event: string,
    /** @internal the typed payload, datatype byte first */
    private readonly payload: Buffer,
  ) {}

  /** The value sent (`any`, as in 1.1.x). Throws a ProtocolError when the payload cannot be decoded. */
  get data(): any {
    if (!this.decoded) this.decode();
    return this.value;
  }

  set data(value: any) {
    this.decoded = true;
    this.value = value;
  }

  /**
   * 'binary', 'null', 'boolean', 'string', 'number', 'object', or '?' for an unknown datatype.
   * Middleware may reassign it, as in 1.1.x; `origin.type` keeps the type received.
   */
  get type(): string {
    return this.typeOverride ?? this.receivedType();
  }

  set type(value: string) {
    this.typeOverride = value;
  }

  /** The payload as it came: its bytes after the datatype byte, and the type's name. */
  get origin(): { raw: Buffer; type: DataTypeName | '?' } {
    return { raw: this.payload.subarray(1), type: this.receivedType() };
  }

  private receivedType(): DataTypeName | '?' {
    return this.payload.length > 0 ? dataTypeName(this.payload[0]!) : '?';
  }

  /**
   * On an incoming request: aborts when the caller cancels it (extension `cancel`), when its
   * `deadline` passes, or when the unit is gone, so a handler can stop work nobody waits for:
   * pass it on to `fetch`, timers, or requests of its own. Made on first use.
   */
  get signal(): AbortSignal {
    let abortion = this.abortion;
    if (abortion === null) abortion = this.abortion = new Abortion();
    if (abortion.controller === null) {
      abortion.controller = new AbortController();
      if (abortion.reason !== undefined) abortion.controller.abort(abortion.reason);
      else if (this.deadline !== undefined) abortion.arm(this.deadline);
    }
    return abortion.controller.signal;
  }

  /** @internal The request is called off (cancelled, deadline passed, unit gone). */
  _abort(reason: Error): void {
    const abortion = (this.abortion ??= new Abortion());
    if (abortion.reason !== undefined) return;
    abortion.reason = reason;
    abortion.disarm();
    abortion.controller?.abort(reason);
  }

  /** @internal Whether the request was called off. */
  get _aborted(): boolean {
    return this.abortion?.reason !== undefined;
  }

  /** @internal The request is answered: no deadline timer is left behind. */
  _settled(): void {
    this.abortion?.disarm();
  }

  /**
   * In middleware: runs the rest of the chain. The Promise resolves once the reply is decided
   * and the inner layers have finished, so `response` and `error` can be read or changed.
   */
  next(): Promise<void> {
    return this._next !== null ? this._next() : Promise.resolve();
  }

  private decode(): void {
    // An unknown datatype reads as null with type '?', as the original delivers it; bad JSON
    // or a missing datatype byte throws the ProtocolError.
    if (this.payload.length > 0 && dataTypeName(this.payload[0]!) === '?') {
      this.value = null;
    } else {
      this.value = decodePayload(this.payload).value;
    }
    this.decoded = true;
  }
}

/** The abort state of a context, kept apart so that contexts that never use it stay small. */
class Abortion {
  controller: AbortController | null = null;
  reason: Error | undefined = undefined;
  private timer: NodeJS.Timeout | null = null;

  /** Aborts at `deadline` (epoch ms); the timer does not keep the process alive. */
  arm(deadline: number): void {
    const abort = (): void => {
      this.timer = null;
      const reason = new RequestTimeoutError(0);
      reason.message = 'The deadline of the request passed';
      this.reason ??= reason;
      this.controller?.abort(this.reason);
    };
    const left = deadline - Date.now();
    if (left <= 0) abort();
    else {
      this.timer = setTimeout(abort, left);
      this.timer.unref();
    }
  }

  disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
