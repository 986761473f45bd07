import type { Readable, Writable } from 'node:stream';
import { dataTypeName, decodePayload } from '../protocol/payload';
import type { DataTypeName } from '../protocol/constants';

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

  /** @internal set by the middleware runner */
  _next: (() => Promise<void>) | null = null;

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
