import { EventEmitter } from 'node:events';
import { InvalidArgumentError } from '../errors';
import type { Connection } from '../transport/connection';
import type { PeerEngine } from '../engine/peer-engine';

/** How one connection of a unit is closed. */
export interface ConnectionCloseOptions {
  /**
   * Whether a connection this side dialed is dialed again, as after any other close (§8).
   * Default true, as closing a socket in 1.1.x; `false` also forgets the address, for an
   * application that wants fewer redundant connections.
   */
  redial?: boolean;
}

/** One open connection of a unit, as users see it. It emits 'close' (code, reason) once. */
export interface UnitConnection extends EventEmitter {
  readonly id: number;
  readonly outbound: boolean;
  readonly bufferedAmount: number;
  readonly remoteAddress: string;
  /**
   * Closes this connection with a WebSocket close handshake. Like closing a socket in 1.1.x it
   * is not closing the unit on purpose: a connection this side dialed is redialed unless
   * `options.redial` is false.
   */
  close(code?: number, reason?: string, options?: ConnectionCloseOptions): void;
  /** Drops this connection without a close handshake; redialed as `close` is. */
  terminate(options?: ConnectionCloseOptions): void;
}

/** @internal The UnitConnection of one connection; the unit makes one per connection. */
export class ConnectionView extends EventEmitter implements UnitConnection {
  readonly id: number;
  readonly outbound: boolean;
  readonly remoteAddress: string;

  constructor(
    private readonly conn: Connection,
    private readonly engine: PeerEngine,
  ) {
    super();
    this.id = conn.id;
    this.outbound = conn.outbound;
    this.remoteAddress = conn.remoteAddress;
  }

  get bufferedAmount(): number {
    return this.conn.bufferedAmount;
  }

  close(code?: number, reason?: string, options?: ConnectionCloseOptions): void {
    if (redialRefused(options)) this.engine.stopRedial(this.conn);
    this.conn.close(code, reason);
  }

  terminate(options?: ConnectionCloseOptions): void {
    if (redialRefused(options)) this.engine.stopRedial(this.conn);
    this.conn.terminate();
  }
}

/** Checks the options of `close` and `terminate`; true for `{ redial: false }`. */
function redialRefused(options: ConnectionCloseOptions | undefined): boolean {
  if (options === undefined) return false;
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object { redial?: boolean }', options);
  if (options.redial !== undefined && typeof options.redial !== 'boolean') throw new InvalidArgumentError('options.redial', 'a boolean', options.redial);
  return options.redial === false;
}
