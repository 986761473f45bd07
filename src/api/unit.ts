import { EventEmitter } from 'node:events';
import type { Connection } from '../transport/connection';
import type { PeerEngine } from '../engine/peer-engine';
import type { RemotePeer } from '../engine/remote-peer';
import type { RequestOptions } from '../engine/pending';
import type { UnitStats } from '../engine/stats';
import type { PeakEwma } from '../engine/balancer';
import type { Context } from './context';
import type { PeerMetaData } from './types';
import { ConnectionView, type UnitConnection } from './unit-connection';

export type { UnitConnection, ConnectionCloseOptions } from './unit-connection';

/**
 * A remote peer connected to this one, over one or more redundant connections. It exists while
 * at least one connection is open; when the last closes its pending requests fail, it leaves
 * every destination and emits 'close'.
 */
export class Unit extends EventEmitter {
  readonly id: string;
  readonly name: string;
  readonly friendly: boolean;
  /** What the remote says about itself: os, runtime, time, uptime, protocol (and whatever else it sends). */
  readonly meta: PeerMetaData & Record<string, unknown>;
  /** Extensions the remote offers (docs/protocol.md §9). */
  readonly ext: Record<string, unknown>;

  /** What users see of each connection (`connections`), made once per connection; the table at the first. */
  private views: WeakMap<Connection, ConnectionView> | null = null;

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
    this.meta = info.meta as PeerMetaData & Record<string, unknown>;
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
    return this.remote.conns.filter((conn) => conn.open).map((conn) => this.view(conn));
  }

  /** @deprecated 1.1.x's private list of sockets, for code written against it: `connections`. */
  get _sockets(): UnitConnection[] {
    return this.connections;
  }

  /** @deprecated 1.1.x's private name field: `name`. */
  get _name(): string {
    return this.name;
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
  request(role: string, event: string, data?: unknown, options: number | RequestOptions = this.engine.requestTimeout): Promise<Context> {
    const request = typeof options === 'number' ? { timeout: options } : options;
    return this.remote.request(role, event, data, request) as Promise<Context>;
  }

  /** A snapshot of this unit's counters (see `peer.stats()`). */
  stats(): UnitStats {
    return this.remote.stats();
  }

  /** @internal for balancing: requests waiting for this unit's answer */
  get load(): number {
    return this.remote.load;
  }
  /** @internal for balancing: how long its oldest request has waited */
  get waiting(): number {
    return this.remote.waiting;
  }
  /** @internal for balancing: its response times */
  get latency(): PeakEwma {
    return this.remote.latency;
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

  private view(conn: Connection): ConnectionView {
    const views = (this.views ??= new WeakMap());
    let view = views.get(conn);
    if (view === undefined) {
      view = new ConnectionView(conn, this.engine);
      views.set(conn, view);
    }
    return view;
  }

  /** @internal one of the remote's connections closed: its view, if any, emits 'close'. */
  _connectionClosed(conn: Connection, code: number, reason: string): void {
    this.views?.get(conn)?.emit('close', code, reason);
  }
}
