import { EventEmitter } from 'node:events';
import { InvalidArgumentError } from '../errors';
import type { Connection } from '../transport/connection';
import type { PeerEngine } from '../engine/peer-engine';
import type { RemotePeer } from '../engine/remote-peer';
import type { Context } from './context';

/** How one connection of a unit is closed. */
export interface ConnectionCloseOptions {
  /**
   * Whether a connection this side dialed is dialed again, as after any other close (§8).
   * Default true, as closing a socket in 1.1.x; `false` also forgets the address, for an
   * application that wants fewer redundant connections.
   */
  redial?: boolean;
}

/** One open connection of a unit, as users see it. */
export interface UnitConnection {
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

/**
 * A remote peer connected to this one, over one or more redundant connections. It exists while
 * at least one connection is open; when the last closes its pending requests fail, it leaves
 * every destination and emits 'close'.
 */
export class Unit extends EventEmitter {
  readonly id: string;
  readonly name: string;
  readonly friendly: boolean;
  readonly meta: Record<string, unknown>;
  /** Extensions the remote offers (docs/protocol.md §9). */
  readonly ext: Record<string, unknown>;

  /** What users see of each connection (`connections`), made once per connection. */
  private readonly facades = new WeakMap<Connection, UnitConnection>();

  /** @internal made by the peer when the remote's first connection is up */
  constructor(
    /** @internal */ readonly remote: RemotePeer,
    private readonly engine: PeerEngine,
  ) {
    super();
    const info = remote.info;
    this.id = info.id;
    this.name = info.name;
    this.friendly = info.friendly;
    this.meta = info.meta;
    this.ext = info.ext;
  }

  /** The remote's active roles. */
  getRoles(): string[] {
    return [...this.remote.roles];
  }

  getTags(): Record<string, string> {
    return { ...this.remote.info.tags };
  }

  /**
   * The open connections to this unit. Closing or terminating one of them is not closing the
   * unit on purpose (docs/protocol.md §8): a connection this side dialed is redialed, unless
   * closed with `{ redial: false }`. Only `unit.close()` and `peer.close()` stop the redial.
   */
  get connections(): UnitConnection[] {
    // A connection that is closing is not listed: it takes no more frames.
    return this.remote.conns.filter((conn) => conn.open).map((conn) => this.facade(conn));
  }

  /** Closes every connection to this unit on purpose (code 4000); none is redialed. */
  close(): void {
    this.engine.closeRemote(this.remote);
  }

  /** Sends a MESSAGE to one of the remote's roles. Returns false when no connection is open. */
  send(role: string, event: string, data?: unknown): boolean {
    return this.remote.send(role, event, data);
  }

  /**
   * Sends a REQUEST; resolves with the response's Context, rejects on REJECT, timeout or loss
   * with an error whose `ctx` is the request's context (unit, role, event, rtt, reason as data).
   */
  request(role: string, event: string, data?: unknown, timeout: number = this.engine.requestTimeout): Promise<Context> {
    return this.remote.request(role, event, data, timeout) as Promise<Context>;
  }

  /** @internal requests waiting for an answer (tests look) */
  get pending(): RemotePeer['pending'] {
    return this.remote.pending;
  }
  /** @internal open streams (tests look) */
  get streams(): RemotePeer['streams'] {
    return this.remote.streams;
  }
  /** @internal the address this side dialed, or the one the remote advertised (tests look) */
  get address(): string | undefined {
    return this.remote.address;
  }
  /** @internal every connection, closing ones included (tests look) */
  get conns(): readonly Connection[] {
    return this.remote.conns;
  }

  private facade(conn: Connection): UnitConnection {
    let facade = this.facades.get(conn);
    if (facade === undefined) {
      const engine = this.engine;
      facade = {
        id: conn.id,
        outbound: conn.outbound,
        remoteAddress: conn.remoteAddress,
        get bufferedAmount() {
          return conn.bufferedAmount;
        },
        close(code?: number, reason?: string, options?: ConnectionCloseOptions) {
          if (redialRefused(options)) engine.stopRedial(conn);
          conn.close(code, reason);
        },
        terminate(options?: ConnectionCloseOptions) {
          if (redialRefused(options)) engine.stopRedial(conn);
          conn.terminate();
        },
      };
      this.facades.set(conn, facade);
    }
    return facade;
  }
}

/** Checks the options of `UnitConnection.close` and `terminate`; true for `{ redial: false }`. */
function redialRefused(options: ConnectionCloseOptions | undefined): boolean {
  if (options === undefined) return false;
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object { redial?: boolean }', options);
  if (options.redial !== undefined && typeof options.redial !== 'boolean') throw new InvalidArgumentError('options.redial', 'a boolean', options.redial);
  return options.redial === false;
}
