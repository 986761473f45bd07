import type * as http from 'node:http';
import type * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { ClientOptions, WebSocket, WebSocketServer } from 'ws';
import { AuthError, CloseCode, PeerClosedError, type RoletalkError } from '../errors';
import { Keyring, hmacInline, type HmacFn } from '../auth/keyring';
import { HmacPool } from '../auth/hmac-pool';
import type { BufferPool } from '../protocol/buffer-pool';
import { Extension, FrameType, PROTOCOL_VERSION } from '../protocol/constants';
import type { PeerInfo } from '../protocol/decoder';
import { FrameEncoder } from '../protocol/encoder';
import { messageLength } from '../protocol/payload';
import type { Connection, HeartbeatOptions, WriteBatch } from '../transport/connection';
import type { ListenSpec, Transport } from '../transport/transport';
import { WsTransport } from '../transport/ws-transport';
import { ThreadedTransport } from '../transport/threads/threaded-transport';
import { Acquaintance } from './acquaintance';
import type { Context, UnitFace } from './context';
import { Dialer, SELF_DIAL } from './dialer';
import { Discovery, type DiscoverySpec } from './discovery';
import { Dispatcher } from './dispatcher';
import { driveHandshake } from './handshake-driver';
import { sendLimit, type Limits } from './limits';
import { RemotePeer, type RemoteHost } from './remote-peer';
import { PeerMiddleware, type RoleRoutes } from './routes';
import { Counters, peerStats, type PeerStats } from './stats';
import { channels } from './tracing';

/** How long a draining peer waits with nothing in flight before it closes, in milliseconds. */
const DRAIN_QUIET_MS = 100;

/** The local peer's settings, checked by the API before they get here. */
export interface EngineConfig {
  name: string;
  friendly: boolean;
  requestTimeout: number;
  heartbeat: HeartbeatOptions;
  handshakeTimeout: number;
  pool: BufferPool;
  hmac: HmacFn | undefined;
  authThreads: number;
  writeBatch: WriteBatch;
  advertise: string | boolean;
  ioThreads: number;
  limits: Limits;
}

/** What the engine tells the public API (api/Peer turns these into objects and events). */
export interface EngineEvents {
  /** The public face of a remote that just completed its first handshake (api/Unit). */
  face(remote: RemotePeer): UnitFace;
  /** A remote's active roles are known or changed: destinations follow. */
  rolesChanged(remote: RemotePeer): void;
  /** A remote's first connection is up. */
  opened(remote: RemotePeer): void;
  /** A remote's last connection is gone; its pending work has failed. */
  closed(remote: RemotePeer): void;
  /** One of a remote's connections closed (after `closed` when it was the last). */
  connectionClosed(remote: RemotePeer, conn: Connection, code: number, reason: string): void;
  /** Whether this peer wants a role (has a destination for it), for acquaintance. */
  wants(role: string): boolean;
  reconnected(address: string, remote: RemotePeer, count: number): void;
  reconnectFailed(address: string, error: Error, delay: number, count: number): void;
  authError(error: RoletalkError): void;
  protocolError(error: RoletalkError, remote: RemotePeer): void;
  handlerError(err: unknown, ctx: Context): void;
  /** A discovery's DNS listing changed (`added` and `removed` are URLs). */
  discovered(target: DiscoverySpec['target'], added: string[], removed: string[], addresses: string[]): void;
  /** A discovery round failed to resolve, or the first dial of a listed `address` failed. */
  discoveryFailed(target: DiscoverySpec['target'], error: Error, address: string | undefined): void;
}

/**
 * The engine of the local peer: its roles and middleware, its remote peers and their
 * connections, dialing and redialing, handshakes, ROLES rounds (§5), acquaintance (§7), the
 * transports, and shutdown. `api/Peer` checks options and delegates here.
 */
export class PeerEngine implements RemoteHost {
  readonly id = randomBytes(16).toString('hex');
  name: string;
  friendly: boolean;
  readonly requestTimeout: number;
  readonly auth = new Keyring();
  readonly tags: Record<string, string> = {};
  readonly encoder: FrameEncoder;
  readonly dispatcher: Dispatcher;
  readonly acquaintance: Acquaintance;
  readonly roles = new Map<string, RoleRoutes>();
  readonly middleware = new PeerMiddleware();
  readonly remotes = new Map<string, RemotePeer>();
  readonly limits: Readonly<Limits>;
  /** Inbound connections in their handshake now, and those refused for `maxPendingHandshakes`. */
  readonly handshakeStats = { pending: 0, refused: 0 };
  /** The bound port after `listen`. */
  port: number | undefined;
  /** What the remotes that are gone had counted, so that totals only grow. */
  private readonly gone = new Counters();
  /** The Unix socket path after `listen({ socketPath })`. */
  socketPath: string | undefined;

  private readonly handshakeTimeout: number;
  private readonly hmac: HmacFn;
  private readonly hmacPool: HmacPool | undefined;
  private readonly createdAt = Date.now();
  private readonly dialers = new Set<Dialer>();
  private readonly discoveries = new Set<Discovery>();
  /** The dialer behind each outbound connection, to redial or stop it. */
  private readonly connDialers = new Map<Connection, Dialer>();
  /** Connections still in their handshake, so `close()` reaches them too. */
  private readonly handshaking = new Set<Connection>();
  /** Sockets on the main thread; also serves `handleUpgrade` for users' own servers. */
  private readonly wsTransport: WsTransport;
  /** Where dialed and listened connections live (the main thread unless I/O threads are on). */
  private readonly transport: Transport;
  private listening = false;
  /** The host given to `listen`, to know our own address when discovering. */
  private listenHost: string | undefined;
  /** The transport the listener runs on. */
  private listener: Transport | undefined;
  private advertise: string | boolean;
  private rolesCounter = 0;
  private rolesRoundScheduled = false;
  closing = false;
  /** `close({ drain: true })` under way: no role is announced, work in flight finishes. */
  private draining = false;

  constructor(
    config: EngineConfig,
    private readonly events: EngineEvents,
  ) {
    this.name = config.name;
    this.friendly = config.friendly;
    this.requestTimeout = config.requestTimeout;
    this.handshakeTimeout = config.handshakeTimeout;
    this.hmacPool = config.authThreads > 0 ? new HmacPool(config.authThreads) : undefined;
    this.hmac = config.hmac ?? this.hmacPool?.hmac ?? hmacInline;
    this.advertise = config.advertise;
    this.limits = config.limits;
    const maxPayload = config.limits.maxPayload;
    this.encoder = new FrameEncoder(config.pool, maxPayload);
    this.wsTransport = new WsTransport(this.encoder.pool, config.heartbeat, config.writeBatch, maxPayload);
    this.transport =
      config.ioThreads > 0
        ? new ThreadedTransport(config.ioThreads, this.encoder.pool, config.heartbeat, config.writeBatch, maxPayload)
        : this.wsTransport;
    this.dispatcher = new Dispatcher(this);
    const engine = this;
    this.acquaintance = new Acquaintance({
      // Read live: users may change `friendly` after construction.
      get friendly() {
        return engine.friendly;
      },
      encoder: this.encoder,
      units: () => this.remotes.values(),
      isConnectedOrDialing: (id, address) =>
        id === this.id || this.remotes.has(id) || [...this.dialers].some((d) => d.address === address),
      wantsAnyRole: (roles) => roles.some((r) => events.wants(r)),
      dial: (address) => {
        if (!this.closing) this.connect(address, true, {}).catch(() => {});
      },
    });
  }

  // ---- roles --------------------------------------------------------------------------

  /** A role was added, enabled or disabled: one ROLES round per tick (§5). */
  rolesUpdated(): void {
    if (this.rolesRoundScheduled) return;
    this.rolesRoundScheduled = true;
    process.nextTick(() => {
      this.rolesRoundScheduled = false;
      this.rolesCounter++;
      const frame = this.encoder.json(FrameType.ROLES, { i: this.rolesCounter, roles: this.activeRoles() });
      const remotes = [...this.remotes.values()];
      // One frame for all: a reference per extra send (buffer-pool.ts ownership rule).
      this.sendToEach(remotes, frame);
    });
  }

  private activeRoles(): string[] {
    // A draining peer serves what still arrives but tells everyone it serves nothing.
    if (this.draining) return [];
    const names: string[] = [];
    for (const role of this.roles.values()) if (role.active) names.push(role.name);
    return names;
  }

  /**
   * Sends one MESSAGE to each of `remotes`, encoded once; returns how many took it. A remote that
   * offered a smaller maxPayload than the frame is skipped (and not counted).
   */
  broadcast(remotes: readonly RemotePeer[], role: string, event: string, data: unknown): number {
    if (remotes.length === 0) return 0;
    const frame = this.encoder.message(role, event, data);
    const length = messageLength(frame);
    const within = remotes.filter((r) => length <= r.maxFrame);
    return this.sendToEach(within, frame, true);
  }

  /** A snapshot of every counter: the units now, plus what the units gone had counted. */
  stats(): PeerStats {
    return peerStats(this.gone, [...this.remotes.values()].map((remote) => remote.stats()));
  }

  /** Sends `frame` to each remote (a reference per extra send); `messages` counts it as a message. */
  private sendToEach(remotes: readonly RemotePeer[], frame: Buffer, messages = false): number {
    if (remotes.length === 0) {
      this.encoder.pool.release(frame);
      return 0;
    }
    for (let i = 1; i < remotes.length; i++) this.encoder.pool.retain(frame);
    let sent = 0;
    for (const remote of remotes) {
      if (!remote.sendFrame(frame)) continue;
      sent++;
      if (messages) remote.counters.messagesOut++;
    }
    return sent;
  }

  // ---- listening ----------------------------------------------------------------------

  /** Serves WebSocket upgrades; resolves with the bound port. */
  async listen(spec: ListenSpec, https: boolean): Promise<number | undefined> {
    this.listening = true;
    // A server of the user's lives on this thread, so its connections do too.
    const transport = spec.server !== undefined ? this.wsTransport : this.transport;
    this.listener = transport;
    this.listenHost = spec.host;
    try {
      this.port = await transport.listen(spec, this.inbound);
    } catch (err) {
      this.listening = false;
      throw err;
    }
    this.socketPath = spec.socketPath;
    // A ws+unix: address is never offered nor introduced (see acquaintance.ts).
    if (this.advertise === true && spec.socketPath !== undefined) this.advertise = false;
    if (this.advertise === true) {
      const host = spec.host && spec.host !== '0.0.0.0' && spec.host !== '::' ? spec.host : '127.0.0.1';
      this.advertise = `${https ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
    }
    return this.port;
  }

  get isListening(): boolean {
    return this.listening;
  }

  /** The HTTP(S) server a listener on this thread serves on; none when I/O threads own it. */
  get httpServer(): http.Server | https.Server | undefined {
    return this.listener === this.wsTransport ? this.wsTransport.httpServer : undefined;
  }

  wsServer(): WebSocketServer {
    return this.wsTransport.wsServer();
  }

  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.wsTransport.handleUpgrade(req, socket, head, this.inbound);
  }

  private readonly inbound = (conn: Connection): void => {
    const stats = this.handshakeStats;
    if (stats.pending >= this.limits.maxPendingHandshakes) {
      this.refuse(conn);
      return;
    }
    stats.pending++;
    const done = (): void => {
      stats.pending--;
    };
    this.runHandshake(conn, undefined).then(done, done);
  };

  /**
   * `maxPendingHandshakes` inbound connections are in their handshake: close this one at once
   * with 1013 (try again later), and drop it a moment later if the remote does not complete the
   * close, so that a flood never holds more than a second's worth of refused sockets.
   */
  private refuse(conn: Connection): void {
    this.handshakeStats.refused++;
    conn.onFrame = () => {};
    conn.close(CloseCode.TRY_AGAIN_LATER, 'Too many pending handshakes, try again later');
    setTimeout(() => conn.terminate(), 1000).unref();
  }

  // ---- dialing ------------------------------------------------------------------------

  /** Dials a peer; resolves with the remote once the handshake succeeds. */
  connect(address: string, permanent: boolean, wsOptions: ClientOptions): Promise<{ unit: RemotePeer; ws: WebSocket }> {
    if (this.closing) throw new PeerClosedError();
    return this.startDialer(address, permanent, wsOptions).first;
  }

  private startDialer(
    address: string,
    permanent: boolean,
    wsOptions: ClientOptions,
  ): { dialer: Dialer; first: Promise<{ unit: RemotePeer; ws: WebSocket }> } {
    const dialer = new Dialer(this.dialHost, address, wsOptions, permanent);
    this.dialers.add(dialer);
    return { dialer, first: dialer.first() };
  }

  /** Dials what DNS lists for a target, and follows the listing (engine/discovery.ts). */
  discover(spec: DiscoverySpec): Discovery {
    if (this.closing) throw new PeerClosedError();
    const discovery = new Discovery(this.discoveryHost, spec);
    this.discoveries.add(discovery);
    return discovery;
  }

  private readonly discoveryHost = {
    dial: (address: string, wsOptions: ClientOptions) => this.startDialer(address, true, wsOptions),
    reaches: (address: string) =>
      [...this.dialers].some((d) => d.address === address) || [...this.remotes.values()].some((r) => r.address === address),
    listenAddress: () => (this.listening && this.port !== undefined ? { host: this.listenHost, port: this.port } : undefined),
    found: (target: DiscoverySpec['target'], added: string[], removed: string[], addresses: string[]) =>
      this.events.discovered(target, added, removed, addresses),
    failed: (target: DiscoverySpec['target'], error: Error, address: string | undefined) =>
      this.events.discoveryFailed(target, error, address),
    forget: (discovery: Discovery) => {
      this.discoveries.delete(discovery);
    },
  };

  private readonly dialHost = {
    open: (address: string, wsOptions: ClientOptions, dialer: Dialer) => this.open(address, wsOptions, dialer),
    reconnected: (dialer: Dialer, remote: RemotePeer, count: number) => this.events.reconnected(dialer.address, remote, count),
    reconnectFailed: (dialer: Dialer, error: Error, delay: number, count: number) =>
      this.events.reconnectFailed(dialer.address, error, delay, count),
    forget: (dialer: Dialer) => {
      this.dialers.delete(dialer);
    },
  };

  private async open(address: string, wsOptions: ClientOptions, dialer: Dialer): Promise<{ unit: RemotePeer; ws: WebSocket }> {
    if (this.closing || dialer.stopped) throw new PeerClosedError();
    const conn = await this.transport.dial(address, wsOptions);
    this.connDialers.set(conn, dialer);
    const unit = await this.runHandshake(conn, address);
    return { unit, ws: (conn as { ws?: WebSocket }).ws as WebSocket };
  }

  // ---- connections and the handshake ---------------------------------------------------

  private runHandshake(conn: Connection, address: string | undefined): Promise<RemotePeer> {
    this.handshaking.add(conn);
    const done = driveHandshake(conn, {
      keys: this.auth.keys,
      hmac: this.hmac,
      timeout: this.handshakeTimeout,
      confirmation: () => this.confirmation(),
      accept: (info, sent) => {
        // Dialed itself (an address of its own, or an acquaintance loop).
        if (info.id === this.id) throw new AuthError(SELF_DIAL);
        const remote = this.attach(conn, info, address);
        this.announceMissedRoles(remote, conn, sent.roles);
        return remote;
      },
      failed: (error) => this.events.authError(error),
    });
    const forget = (): void => {
      this.handshaking.delete(conn);
    };
    done.then(
      (remote) => {
        forget();
        if (channels.handshake.hasSubscribers) channels.handshake.publish({ ok: true, ...connectionTrace(remote, conn) });
      },
      (error: unknown) => {
        forget();
        this.connDialers.delete(conn);
        if (channels.handshake.hasSubscribers) {
          channels.handshake.publish({ ok: false, connectionId: conn.id, outbound: conn.outbound, remoteAddress: conn.remoteAddress, error });
        }
      },
    );
    return done;
  }

  /**
   * A role changed between sending our CONFIRMED and the remote's arrival: that round's ROLES
   * went to the remotes of the time, not to this one, so it would never learn of the change.
   */
  private announceMissedRoles(remote: RemotePeer, conn: Connection, confirmedRoles: string[]): void {
    // A round still to come reaches the new remote anyway.
    if (this.rolesRoundScheduled || remote.conns.indexOf(conn) === -1) return;
    const active = this.activeRoles();
    if (active.length === confirmedRoles.length && active.every((r, i) => r === confirmedRoles[i])) return;
    conn.send(this.encoder.json(FrameType.ROLES, { i: this.rolesCounter, roles: active }));
  }

  /** CONFIRMED data (§2): active roles only, in the original's key order. */
  private confirmation(): { roles: string[] } & Record<string, unknown> {
    return {
      id: this.id,
      roles: this.activeRoles(),
      friendly: this.friendly,
      name: this.name,
      meta: {
        os: os.platform(),
        runtime: `nodejs ${process.version}`,
        time: Date.now(),
        uptime: Date.now() - this.createdAt,
        protocol: PROTOCOL_VERSION,
      },
      tags: this.tags,
      // Extensions (§9): original peers ignore unknown fields.
      ext: {
        [Extension.RESEND]: 1,
        [Extension.CANCEL]: 1,
        [Extension.DEADLINE]: 1,
        [Extension.MAX_PAYLOAD]: this.limits.maxPayload,
        ...(typeof this.advertise === 'string' ? { listen: this.advertise } : {}),
      },
    };
  }

  /** A connection finished its handshake: join the remote's connections, or make the remote. */
  private attach(conn: Connection, info: PeerInfo, address: string | undefined): RemotePeer {
    let remote = this.remotes.get(info.id);
    const isNew = remote === undefined;
    if (remote === undefined) {
      remote = new RemotePeer(this, info);
      remote.face = this.events.face(remote);
      remote.maxFrame = sendLimit(info.ext[Extension.MAX_PAYLOAD], this.limits.maxPayload);
      this.remotes.set(info.id, remote);
    }
    if (address !== undefined) remote.address = address;
    else if (remote.address === undefined && typeof info.ext.listen === 'string' && /^wss?:\/\//.test(info.ext.listen)) {
      // An inbound peer that offered where it listens (§9 `ext.listen`) can be introduced too.
      remote.address = info.ext.listen;
    }
    const owner = remote;
    remote.addConnection(conn);
    conn.onClose = (code, reason) => this.connectionClosed(owner, conn, code, reason);
    if (channels.connectionOpen.hasSubscribers) channels.connectionOpen.publish(connectionTrace(remote, conn));
    if (this.closing) {
      conn.close(CloseCode.INTENTIONAL, 'intentionally closed');
      return remote;
    }
    if (isNew) {
      this.events.rolesChanged(remote);
      this.acquaintance.introduce(remote);
      this.events.opened(remote);
    }
    return remote;
  }

  private connectionClosed(remote: RemotePeer, conn: Connection, code: number, reason: string): void {
    const last = remote.removeConnection(conn);
    const dialer = this.connDialers.get(conn);
    this.connDialers.delete(conn);
    if (last) {
      this.remotes.delete(remote.id);
      remote.lost();
      this.gone.absorb(remote.counters);
      this.events.closed(remote);
    }
    this.events.connectionClosed(remote, conn, code, reason);
    if (channels.connectionClose.hasSubscribers) channels.connectionClose.publish({ ...connectionTrace(remote, conn), code, reason });
    // `closeRemote` has already stopped its dialers; `close()` stops them all.
    if (dialer !== undefined) dialer.connectionClosed(this.closing);
  }

  /** `unit.close()`: every connection closes with 4000 and none is redialed (§8). */
  closeRemote(remote: RemotePeer): void {
    for (const conn of remote.conns) this.connDialers.get(conn)?.stop();
    remote.closeConnections(CloseCode.INTENTIONAL, 'intentionally closed');
  }

  /** The user closed this connection with `{ redial: false }`: if this side dialed it, do not redial. */
  stopRedial(conn: Connection): void {
    this.connDialers.get(conn)?.stop();
  }

  // ---- RemoteHost ---------------------------------------------------------------------

  protocolError(remote: RemotePeer, conn: Connection, error: RoletalkError): void {
    this.events.protocolError(error, remote);
    conn.close(error.closeCode ?? CloseCode.PROTOCOL_ERROR, error.message);
  }

  rolesChanged(remote: RemotePeer): void {
    this.events.rolesChanged(remote);
  }

  handlerError(err: unknown, ctx: Context): void {
    this.events.handlerError(err, ctx);
  }

  // ---- shutdown -------------------------------------------------------------------------

  /**
   * Stops taking new work and waits for the work in flight (drain): a ROLES round with no role
   * tells every remote at once to send new requests and streams elsewhere; requests that were
   * already on their way are still served. Resolves once nothing has been in flight for a quiet
   * period (remotes may still be sending what they sent before the round reached them), or at
   * `timeout`, whichever comes first.
   */
  async drain(timeout: number, quiet = DRAIN_QUIET_MS): Promise<void> {
    if (this.closing) return;
    this.draining = true;
    this.rolesUpdated();
    const until = Date.now() + timeout;
    let idleSince = Date.now();
    while (Date.now() < until) {
      if (this.inFlight() > 0) idleSince = Date.now();
      else if (Date.now() - idleSince >= quiet) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Requests and streams under way, both ways. */
  private inFlight(): number {
    let n = this.dispatcher.running;
    for (const remote of this.remotes.values()) n += remote.pending.size + remote.streams.openCount;
    return n;
  }

  /** Closes every remote and the listener, stops every redial; resolves when all is closed. */
  async close(): Promise<boolean> {
    if (this.closing && !this.listening && this.remotes.size === 0) return false;
    this.closing = true;
    for (const discovery of [...this.discoveries]) discovery.stop();
    for (const dialer of [...this.dialers]) dialer.stop();
    const waits: Promise<void>[] = [];
    for (const remote of this.remotes.values()) {
      if (remote.conns.length === 0) continue;
      waits.push(remote.whenClosed());
      remote.closeConnections(CloseCode.INTENTIONAL, 'intentionally closed');
    }
    for (const conn of this.handshaking) conn.close(CloseCode.INTENTIONAL, 'peer closed');
    // A remote that never answers the close handshake is dropped after a grace period.
    const grace = setTimeout(() => {
      for (const remote of this.remotes.values()) for (const conn of remote.conns) conn.terminate();
      for (const conn of this.handshaking) conn.terminate();
    }, 1000);
    grace.unref();
    if (this.listening) {
      this.listening = false;
      waits.push((this.listener ?? this.transport).closeListener());
    }
    await Promise.all(waits);
    clearTimeout(grace);
    await this.transport.shutdown();
    if (this.transport !== this.wsTransport) await this.wsTransport.shutdown();
    await this.hmacPool?.close();
    return true;
  }
}

/** What the connection channels carry about a connection. */
function connectionTrace(remote: RemotePeer, conn: Connection): { unitId: string; connectionId: number; outbound: boolean; remoteAddress: string } {
  return { unitId: remote.id, connectionId: conn.id, outbound: conn.outbound, remoteAddress: conn.remoteAddress };
}
