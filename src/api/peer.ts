import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { ClientOptions, WebSocket, WebSocketServer } from 'ws';
import {
  AlreadyListeningError,
  AuthError,
  CloseCode,
  InvalidArgumentError,
  PeerClosedError,
  RoletalkError,
} from '../errors';
import { Keyring, hmacInline, type HmacFn } from '../auth/keyring';
import { HmacPool } from '../auth/hmac-pool';
import { driveHandshake } from '../engine/handshake-driver';
import { BufferPool, defaultPool } from '../protocol/buffer-pool';
import { FrameType, PROTOCOL_VERSION, Timing } from '../protocol/constants';
import type { PeerInfo } from '../protocol/decoder';
import { FrameEncoder } from '../protocol/encoder';
import { DEFAULT_WRITE_BATCH, type Connection, type HeartbeatOptions, type WriteBatch } from '../transport/connection';
import type { Transport } from '../transport/transport';
import { WsTransport } from '../transport/ws-transport';
import { ThreadedTransport } from '../transport/threads/threaded-transport';
import { Acquaintance } from '../engine/acquaintance';
import { Dialer } from '../engine/dialer';
import { Dispatcher, type Routes } from '../engine/dispatcher';
import type { Handler } from '../engine/middleware';
import type { PeerEngine } from '../engine/peer-engine';
import type { Context } from './context';
import { Destination } from './destination';
import { Role } from './role';
import { Unit } from './unit';

export interface PeerOptions {
  /** A human name sent to remote peers. */
  name?: string;
  /** Take part in acquaintance (PROTOCOL.md §7). Default true. */
  friendly?: boolean;
  /** Default request timeout in ms. Default 5 minutes, as the original. */
  requestTimeout?: number;
  /** Heartbeat ping interval and pong timeout in ms (§1: 5000 and 2000). */
  heartbeat?: Partial<HeartbeatOptions>;
  /** Milliseconds a handshake may take (§2: 4000). */
  handshakeTimeout?: number;
  /** Memory for outgoing frames; peers share one pool by default. */
  pool?: BufferPool;
  /** Computes handshake HMACs; inline by default. */
  hmac?: HmacFn;
  /**
   * Frames written in one tick share socket writes, at most `frames` frames or `bytes` bytes
   * each (default 16 frames, 64 KiB). `{ frames: 1 }` writes every frame on its own.
   */
  writeBatch?: Partial<WriteBatch>;
  /**
   * An address where remote peers can dial this one, offered in the handshake (a PROTOCOL.md
   * §9 extension, `ext.listen`) so that peers it connected to can introduce it to others
   * although they never dialed it. `true`: `ws://<listen host or 127.0.0.1>:<port>` once listening.
   */
  advertise?: string | boolean;
  /**
   * Threads that own this peer's sockets (WebSocket framing, masking, heartbeats, writes), so
   * its connections stay alive and fast while the main thread is busy. Default 0 (sockets on
   * the main thread), or the environment variable ROLETALK_IO_THREADS.
   */
  ioThreads?: number;
  /**
   * Threads that compute handshake HMACs (a piscina pool). Default 0: inline, which is faster
   * unless the main thread is saturated during a storm of keyed handshakes.
   */
  authThreads?: number;
}

export interface ListenOptions {
  port?: number;
  host?: string;
  /** Serve upgrades only on this path (any path when unset). */
  path?: string;
  /** TLS options (key, cert, ...): listen with HTTPS. */
  ssl?: https.ServerOptions;
  /** Serve on an existing HTTP or HTTPS server instead of creating one. */
  server?: http.Server | https.Server;
}

export interface ConnectOptions extends ClientOptions {
  /** Redial when the connection closes for any reason but closing it on purpose. Default true. */
  permanent?: boolean;
}

type Callback<T> = (err: Error | null, value?: T) => void;

/**
 * The local node of a roletalk mesh: it serves roles, reaches remote roles through
 * destinations, and keeps its units (connected remote peers) over one or more connections.
 */
export class Peer extends EventEmitter implements PeerEngine, Routes {
  readonly id = randomBytes(16).toString('hex');
  name: string;
  friendly: boolean;
  readonly requestTimeout: number;
  readonly auth = new Keyring();
  /** The bound port after `listen`. */
  port: number | undefined;

  /** @internal */ readonly encoder: FrameEncoder;
  /** @internal */ readonly dispatcher: Dispatcher;
  /** @internal */ readonly acquaintance: Acquaintance;
  /** @internal */ readonly roleMap = new Map<string, Role>();
  /** @internal */ readonly peerData: Handler[] = [];
  /** @internal */ readonly peerMessage: Handler[] = [];
  /** @internal */ readonly peerRequest: Handler[] = [];
  /** @internal */ readonly peerReadable: Handler[] = [];
  /** @internal */ readonly peerWritable: Handler[] = [];

  private readonly unitMap = new Map<string, Unit>();
  private readonly destinationMap = new Map<string, Destination>();
  private readonly tags: Record<string, string> = {};
  private readonly heartbeat: HeartbeatOptions;
  private readonly handshakeTimeout: number;
  private readonly hmac: HmacFn;
  private readonly hmacPool: HmacPool | undefined;
  private readonly createdAt = Date.now();
  private readonly dialers = new Set<Dialer>();
  /** The dialer behind each outbound connection, to redial or stop it. */
  private readonly connDialers = new Map<Connection, Dialer>();
  /** Connections still in their handshake, so `close()` reaches them too. */
  private readonly handshaking = new Set<Connection>();
  /** Sockets on the main thread; also serves `handleUpgrade` for users' own servers. */
  private readonly wsTransport: WsTransport;
  /** Where dialed and listened connections live (the main thread unless I/O threads are on). */
  private readonly transport: Transport;
  /** I/O threads owning the sockets (0: the main thread). */
  readonly ioThreads: number;
  private listening = false;
  /** The transport the listener runs on. */
  private listener: Transport | undefined;
  private advertise: string | boolean;
  private rolesCounter = 0;
  private rolesRoundScheduled = false;
  private closing = false;

  constructor(options: PeerOptions = {}) {
    super();
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
    const { name = '', friendly = true, requestTimeout = Timing.REQUEST_TIMEOUT } = options;
    if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', name);
    if (typeof friendly !== 'boolean') throw new InvalidArgumentError('friendly', 'a boolean', friendly);
    if (typeof requestTimeout !== 'number' || !(requestTimeout >= 0)) {
      throw new InvalidArgumentError('requestTimeout', 'a number of milliseconds >= 0', requestTimeout);
    }
    this.name = name;
    this.friendly = friendly;
    this.requestTimeout = requestTimeout;
    this.heartbeat = {
      interval: options.heartbeat?.interval ?? Timing.HEARTBEAT_INTERVAL,
      timeout: options.heartbeat?.timeout ?? Timing.HEARTBEAT_TIMEOUT,
    };
    this.handshakeTimeout = options.handshakeTimeout ?? Timing.HANDSHAKE_TIMEOUT;
    const authThreads = options.authThreads ?? 0;
    if (!Number.isInteger(authThreads) || authThreads < 0 || authThreads > 64) {
      throw new InvalidArgumentError('authThreads', 'an integer from 0 to 64', options.authThreads);
    }
    this.hmacPool = authThreads > 0 ? new HmacPool(authThreads) : undefined;
    this.hmac = options.hmac ?? this.hmacPool?.hmac ?? hmacInline;
    const advertise = options.advertise ?? false;
    if (typeof advertise === 'string' ? !/^wss?:\/\//.test(advertise) : typeof advertise !== 'boolean') {
      throw new InvalidArgumentError('advertise', 'a ws:// or wss:// URL or a boolean', advertise);
    }
    this.advertise = advertise;
    this.encoder = new FrameEncoder(options.pool ?? defaultPool);
    const batch = { ...DEFAULT_WRITE_BATCH, ...options.writeBatch };
    if (!Number.isInteger(batch.frames) || batch.frames < 1) throw new InvalidArgumentError('writeBatch.frames', 'an integer >= 1', batch.frames);
    if (!(batch.bytes >= 0)) throw new InvalidArgumentError('writeBatch.bytes', 'a number >= 0', batch.bytes);
    this.wsTransport = new WsTransport(this.encoder.pool, this.heartbeat, batch);
    const ioThreads = options.ioThreads ?? Number(process.env.ROLETALK_IO_THREADS ?? 0);
    if (!Number.isInteger(ioThreads) || ioThreads < 0 || ioThreads > 64) {
      throw new InvalidArgumentError('ioThreads', 'an integer from 0 to 64', options.ioThreads ?? process.env.ROLETALK_IO_THREADS);
    }
    this.ioThreads = ioThreads;
    this.transport = ioThreads > 0 ? new ThreadedTransport(ioThreads, this.encoder.pool, this.heartbeat, batch) : this.wsTransport;
    this.dispatcher = new Dispatcher(this);
    const peer = this;
    this.acquaintance = new Acquaintance({
      // Read live: users may change `friendly` after construction.
      get friendly() {
        return peer.friendly;
      },
      encoder: this.encoder,
      units: () => this.unitMap.values(),
      isConnectedOrDialing: (id, address) =>
        id === this.id || this.unitMap.has(id) || [...this.dialers].some((d) => d.address === address),
      wantsAnyRole: (roles) => roles.some((r) => this.destinationMap.has(r)),
      dial: (address) => {
        this.connect(address).catch(() => {});
      },
    });
  }

  // ---- public collections -------------------------------------------------------------

  get units(): Unit[] {
    return [...this.unitMap.values()];
  }

  get roles(): Role[] {
    return [...this.roleMap.values()];
  }

  get destinations(): Destination[] {
    return [...this.destinationMap.values()];
  }

  // ---- configuration ------------------------------------------------------------------

  addPresharedKey(id: string, key: string): this {
    this.auth.addPresharedKey(id, key);
    return this;
  }

  setTag(key: string, value: string): this {
    if (typeof key !== 'string' || key.length === 0) throw new InvalidArgumentError('key', 'a non-empty string', key);
    if (typeof value !== 'string') throw new InvalidArgumentError('value', 'a string', value);
    this.tags[key] = value;
    return this;
  }

  getTags(): Record<string, string> {
    return { ...this.tags };
  }

  /** The role `name`, created (active unless `active` is false) on first use. */
  role(name: string, active = true): Role {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('name', 'a non-empty string', name);
    let role = this.roleMap.get(name);
    if (role === undefined) {
      role = new Role(name, this, active !== false);
      this.roleMap.set(name, role);
      this._rolesChanged();
      this.emit('role', role);
    }
    return role;
  }

  /** The remote role `name`, balancing over the units that serve it. */
  destination(name: string): Destination {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('name', 'a non-empty string', name);
    let dest = this.destinationMap.get(name);
    if (dest === undefined) {
      dest = new Destination(name, this);
      this.destinationMap.set(name, dest);
      for (const unit of this.unitMap.values()) if (unit.roles.has(name)) dest._update(unit, true);
    }
    return dest;
  }

  onMessage(handler: Handler): this {
    return this.use(this.peerMessage, handler);
  }
  onRequest(handler: Handler): this {
    return this.use(this.peerRequest, handler);
  }
  onReadable(handler: Handler): this {
    return this.use(this.peerReadable, handler);
  }
  onWritable(handler: Handler): this {
    return this.use(this.peerWritable, handler);
  }
  onData(handler: Handler): this {
    return this.use(this.peerData, handler);
  }

  private use(list: Handler[], handler: Handler): this {
    if (typeof handler !== 'function') throw new InvalidArgumentError('handler', 'a function', handler);
    list.push(handler);
    return this;
  }

  // ---- listening ----------------------------------------------------------------------

  /** Serves WebSocket upgrades. Resolves with this peer once listening. */
  listen(options: number | ListenOptions, cb?: Callback<Peer>): Promise<Peer> {
    if (this.listening) throw new AlreadyListeningError();
    if (this.closing) throw new PeerClosedError();
    const opts: ListenOptions = typeof options === 'number' ? { port: options } : options;
    if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('options', 'a port number or an object', options);
    if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
      throw new InvalidArgumentError('port', 'an integer from 0 to 65535', opts.port);
    }
    this.listening = true;
    // A server of the user's lives on this thread, so its connections do too.
    const transport = opts.server !== undefined ? this.wsTransport : this.transport;
    this.listener = transport;
    const promise = transport.listen(opts, this.inbound).then(
      (port) => {
        this.port = port;
        if (this.advertise === true) {
          const scheme = opts.ssl || opts.server instanceof https.Server ? 'wss' : 'ws';
          const host = opts.host && opts.host !== '0.0.0.0' && opts.host !== '::' ? opts.host : '127.0.0.1';
          this.advertise = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
        }
        return this as Peer;
      },
      (err: Error) => {
        this.listening = false;
        throw err;
      },
    );
    settle(promise, cb);
    return promise;
  }

  /** The WebSocket server that accepts connections; for serving on an existing HTTP server. */
  prepareWSServer(): WebSocketServer {
    return this.wsTransport.wsServer();
  }

  /** Accepts an HTTP upgrade from a server of the user's own. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.wsTransport.handleUpgrade(req, socket, head, this.inbound);
  }

  private readonly inbound = (conn: Connection): void => {
    this.runHandshake(conn, undefined).catch(() => {});
  };

  // ---- dialing ------------------------------------------------------------------------

  /** Dials a peer. Resolves with the unit once the handshake succeeds. */
  connect(address: string, options: ConnectOptions = {}, cb?: Callback<{ unit: Unit; ws: WebSocket }>): Promise<{ unit: Unit; ws: WebSocket }> {
    if (typeof address !== 'string' || !/^wss?:\/\//.test(address)) {
      throw new InvalidArgumentError('address', 'a ws:// or wss:// URL', address);
    }
    if (typeof options === 'function') {
      cb = options as Callback<{ unit: Unit; ws: WebSocket }>;
      options = {};
    }
    if (this.closing) throw new PeerClosedError();
    const { permanent = true, ...wsOptions } = options;
    const dialer = new Dialer(this.dialHost, address, wsOptions, permanent !== false);
    this.dialers.add(dialer);
    const promise = dialer.first();
    settle(promise, cb);
    return promise;
  }

  private readonly dialHost = {
    open: (address: string, wsOptions: ClientOptions, dialer: Dialer) => this.open(address, wsOptions, dialer),
    reconnected: (dialer: Dialer, unit: Unit) => this.emit('reconnect_success', { address: dialer.address, unit }),
    reconnectFailed: (dialer: Dialer, error: Error, delay: number) =>
      this.emit('reconnect_fail', { address: dialer.address, error, delay }),
    forget: (dialer: Dialer) => {
      this.dialers.delete(dialer);
    },
  };

  private async open(address: string, wsOptions: ClientOptions, dialer: Dialer): Promise<{ unit: Unit; ws: WebSocket }> {
    if (this.closing || dialer.stopped) throw new PeerClosedError();
    const conn = await this.transport.dial(address, wsOptions);
    this.connDialers.set(conn, dialer);
    const unit = await this.runHandshake(conn, address);
    return { unit, ws: (conn as { ws?: WebSocket }).ws as WebSocket };
  }

  // ---- connections and the handshake ---------------------------------------------------

  private runHandshake(conn: Connection, address: string | undefined): Promise<Unit> {
    this.handshaking.add(conn);
    const done = driveHandshake(conn, {
      keys: this.auth.keys,
      hmac: this.hmac,
      timeout: this.handshakeTimeout,
      confirmation: () => this.confirmation(),
      accept: (remote, sent) => {
        // Dialed itself (an address of its own, or an acquaintance loop).
        if (remote.id === this.id) throw new AuthError('The remote peer is this peer');
        const unit = this.attach(conn, remote, address);
        this.announceMissedRoles(unit, conn, sent.roles);
        return unit;
      },
      failed: (error) => this.emit('auth_error', error),
    });
    const forget = (): void => {
      this.handshaking.delete(conn);
    };
    done.then(forget, () => {
      forget();
      this.connDialers.delete(conn);
    });
    return done;
  }

  /**
   * A role changed between sending our CONFIRMED and the remote's arrival: that round's ROLES
   * went to the units of the time, not to this one, so it would never learn of the change.
   */
  private announceMissedRoles(unit: Unit, conn: Connection, confirmedRoles: string[]): void {
    // A round still to come reaches the new unit anyway.
    if (this.rolesRoundScheduled || unit.conns.indexOf(conn) === -1) return;
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
      ...(typeof this.advertise === 'string' ? { ext: { listen: this.advertise } } : {}),
    };
  }

  private activeRoles(): string[] {
    const names: string[] = [];
    for (const role of this.roleMap.values()) if (role.active) names.push(role.name);
    return names;
  }

  /** A connection finished its handshake: join the remote's unit, or make one. */
  private attach(conn: Connection, remote: PeerInfo, address: string | undefined): Unit {
    let unit = this.unitMap.get(remote.id);
    const isNew = unit === undefined;
    if (unit === undefined) {
      unit = new Unit(this, remote);
      this.unitMap.set(remote.id, unit);
    }
    if (address !== undefined) unit.address = address;
    else if (unit.address === undefined && typeof remote.ext.listen === 'string' && /^wss?:\/\//.test(remote.ext.listen)) {
      // An inbound peer that offered where it listens (§9 `ext.listen`) can be introduced too.
      unit.address = remote.ext.listen;
    }
    const owner = unit;
    unit.addConnection(conn);
    conn.onFrame = (frame) => owner.handleFrame(frame, conn);
    conn.onClose = () => this.connectionClosed(owner, conn);
    if (this.closing) {
      conn.close(CloseCode.INTENTIONAL, 'intentionally closed');
      return unit;
    }
    if (isNew) {
      this.unitRolesChanged(unit);
      this.acquaintance.introduce(unit);
      this.emit('unit', unit);
    }
    return unit;
  }

  private connectionClosed(unit: Unit, conn: Connection): void {
    const last = unit.removeConnection(conn);
    const dialer = this.connDialers.get(conn);
    this.connDialers.delete(conn);
    if (last) {
      this.unitMap.delete(unit.id);
      unit.failPending();
      for (const dest of this.destinationMap.values()) dest._update(unit, false);
      unit.emit('close');
    }
    // `unit.close()` has already stopped its dialers; `peer.close()` stops them all.
    if (dialer !== undefined) dialer.connectionClosed(this.closing);
  }

  // ---- PeerEngine -----------------------------------------------------------------------

  /** @internal */
  closeUnit(unit: Unit): void {
    for (const conn of unit.conns) this.connDialers.get(conn)?.stop();
    unit.closeConnections(CloseCode.INTENTIONAL, 'intentionally closed');
  }

  /** @internal */
  stopRedial(conn: Connection): void {
    this.connDialers.get(conn)?.stop();
  }

  /** @internal A malformed frame: close that one connection with the reason. */
  protocolError(unit: Unit, conn: Connection, error: RoletalkError): void {
    this.emit('protocol_error', error, unit);
    conn.close(error.closeCode ?? CloseCode.PROTOCOL_ERROR, error.message);
  }

  /** @internal */
  unitRolesChanged(unit: Unit): void {
    for (const dest of this.destinationMap.values()) dest._update(unit, unit.roles.has(dest.name));
  }

  /** @internal A message handler failed; reported as 'error' when someone listens. */
  handlerError(err: unknown, ctx: Context): void {
    if (this.listenerCount('error') > 0) this.emit('error', err, ctx);
  }

  /** @internal A role was added, enabled or disabled: one ROLES round per tick (§5). */
  _rolesChanged(): void {
    if (this.rolesRoundScheduled) return;
    this.rolesRoundScheduled = true;
    process.nextTick(() => {
      this.rolesRoundScheduled = false;
      this.rolesCounter++;
      const frame = this.encoder.json(FrameType.ROLES, { i: this.rolesCounter, roles: this.activeRoles() });
      for (const unit of this.unitMap.values()) unit.sendFrame(frame);
    });
  }

  // ---- shutdown -------------------------------------------------------------------------

  /** Closes every unit and the server and stops every reconnection. */
  close(cb?: (err?: Error) => void): Promise<void> {
    const promise = this.shutdown();
    if (cb !== undefined) promise.then(() => cb(), cb);
    return promise;
  }

  private async shutdown(): Promise<void> {
    if (this.closing && !this.listening && this.unitMap.size === 0) return;
    this.closing = true;
    for (const dialer of [...this.dialers]) dialer.stop();
    const waits: Promise<void>[] = [];
    for (const unit of this.unitMap.values()) {
      if (unit.conns.length === 0) continue;
      waits.push(new Promise<void>((resolve) => unit.once('close', () => resolve())));
      unit.closeConnections(CloseCode.INTENTIONAL, 'intentionally closed');
    }
    for (const conn of this.handshaking) conn.close(CloseCode.INTENTIONAL, 'peer closed');
    // A remote that never answers the close handshake is dropped after a grace period.
    const grace = setTimeout(() => {
      for (const unit of this.unitMap.values()) for (const conn of unit.conns) conn.terminate();
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
    this.emit('close');
  }
}

function settle<T>(promise: Promise<T>, cb: Callback<T> | undefined): void {
  if (cb === undefined) return;
  promise.then(
    (value) => cb(null, value),
    (err: Error) => cb(err),
  );
  promise.catch(() => {});
}
