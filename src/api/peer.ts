import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import { AlreadyListeningError, InvalidArgumentError, PeerClosedError } from '../errors';
import type { Keyring } from '../auth/keyring';
import type { Handler as EngineHandler } from '../engine/middleware';
import { PeerEngine } from '../engine/peer-engine';
import type { PeerStats } from '../engine/stats';
import { RoleRoutes } from '../engine/routes';
import { Destination, type DestinationOptions } from './destination';
import { checkDestinationOptions } from './event-options';
import {
  resolveCloseOptions,
  resolveConnectArgs,
  resolveListenOptions,
  resolvePeerOptions,
  type CloseOptions,
  type ConnectOptions,
  type ListenOptions,
  type PeerOptions,
} from './options';
import { resolveDiscoverArgs, type Discovery, type DiscoverOptions, type DiscoverTarget } from './options';
import { Role, type Handler, type ReadableStreamHandler, type WritableStreamHandler } from './role';
import type { Unit } from './unit';
import { peerEvents, unitOf } from './peer-events';

export type { PeerOptions, ListenOptions, ConnectOptions, CloseOptions } from './options';

type Callback<T> = (err: Error | null, value?: T) => void;

/**
 * The local node of a roletalk mesh: it serves roles, reaches remote roles through
 * destinations, and keeps its units (connected remote peers) over one or more connections.
 * It checks arguments and keeps the public objects; the work is done by its engine.
 */
export class Peer extends EventEmitter {
  /** I/O threads owning the sockets (0: the main thread). */
  readonly ioThreads: number;
  /** @internal */ readonly engine: PeerEngine;
  private readonly roleMap = new Map<string, Role>();
  private readonly destinationMap = new Map<string, Destination>();

  constructor(options: PeerOptions = {}) {
    super();
    const config = resolvePeerOptions(options);
    this.ioThreads = config.ioThreads;
    this.engine = new PeerEngine(config, peerEvents(this, this.destinationMap));
  }

  get id(): string {
    return this.engine.id;
  }
  get name(): string {
    return this.engine.name;
  }
  set name(name: string) {
    this.engine.name = name;
  }
  get friendly(): boolean {
    return this.engine.friendly;
  }
  set friendly(friendly: boolean) {
    this.engine.friendly = friendly;
  }
  get requestTimeout(): number {
    return this.engine.requestTimeout;
  }
  get auth(): Keyring {
    return this.engine.auth;
  }
  /** The bound port after `listen`; undefined on a Unix socket. */
  get port(): number | undefined {
    return this.engine.port;
  }
  /** The Unix socket path after `listen({ socketPath })`: dial it as `ws+unix:<socketPath>`. */
  get socketPath(): string | undefined {
    return this.engine.socketPath;
  }

  /** @deprecated 1.1.x's private port field: `port`. */
  get _port(): number | undefined {
    return this.engine.port;
  }
  /** @deprecated 1.1.x's private server field: the HTTP(S) server listened on (none with I/O threads). */
  get _listener(): http.Server | https.Server | undefined {
    return this.engine.httpServer;
  }

  get units(): Unit[] {
    return [...this.engine.remotes.values()].map(unitOf);
  }
  get roles(): Role[] {
    return [...this.roleMap.values()];
  }
  get destinations(): Destination[] {
    return [...this.destinationMap.values()];
  }

  // ---- configuration ------------------------------------------------------------------

  addPresharedKey(id: string, key: string): this {
    this.engine.auth.addPresharedKey(id, key);
    return this;
  }

  setTag(key: string, value: string): this {
    if (typeof key !== 'string' || key.length === 0) throw new InvalidArgumentError('key', 'a non-empty string', key);
    if (typeof value !== 'string') throw new InvalidArgumentError('value', 'a string', value);
    this.engine.tags[key] = value;
    return this;
  }

  getTags(): Record<string, string> {
    return { ...this.engine.tags };
  }

  /** The role `name`, created (active unless `active` is false) on first use. */
  role(name: string, active = true): Role {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('name', 'a non-empty string', name);
    let role = this.roleMap.get(name);
    if (role === undefined) {
      const routes = new RoleRoutes(name, active !== false);
      role = new Role(name, this, routes);
      this.roleMap.set(name, role);
      this.engine.roles.set(name, routes);
      this.engine.rolesUpdated();
      this.emit('role', role);
    }
    return role;
  }

  /**
   * The remote role `name`, balancing over the units that serve it. `options` apply to every
   * call on it; they are taken when the destination is first made.
   */
  destination(name: string, options?: DestinationOptions): Destination {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('name', 'a non-empty string', name);
    checkDestinationOptions(options);
    let dest = this.destinationMap.get(name);
    if (dest === undefined) {
      dest = new Destination(name, this, options);
      this.destinationMap.set(name, dest);
      for (const remote of this.engine.remotes.values()) if (remote.roles.has(name)) dest._update(unitOf(remote), true);
    }
    return dest;
  }

  /** Middleware for incoming messages of every role. */
  onMessage(handler: Handler): this {
    return this.use(this.engine.middleware.message, handler);
  }
  /** Middleware for incoming requests of every role. */
  onRequest(handler: Handler): this {
    return this.use(this.engine.middleware.request, handler);
  }
  /** Middleware for incoming requests to write to us, of every role. */
  onReadable(handler: ReadableStreamHandler): this {
    return this.use(this.engine.middleware.readable, handler as Handler);
  }
  /** Middleware for incoming requests to read from us, of every role. */
  onWritable(handler: WritableStreamHandler): this {
    return this.use(this.engine.middleware.writable, handler as Handler);
  }
  /** Middleware for everything incoming, run first. */
  onData(handler: Handler): this {
    return this.use(this.engine.middleware.data, handler);
  }

  private use(list: EngineHandler[], handler: Handler): this {
    if (typeof handler !== 'function') throw new InvalidArgumentError('handler', 'a function', handler);
    list.push(handler as EngineHandler);
    return this;
  }

  // ---- connections ----------------------------------------------------------------------

  /** Serves WebSocket upgrades. Resolves with this peer once listening. */
  listen(options: number | ListenOptions, cb?: Callback<Peer>): Promise<Peer> {
    if (this.engine.isListening) throw new AlreadyListeningError();
    if (this.engine.closing) throw new PeerClosedError();
    const opts = resolveListenOptions(options);
    const tls = opts.ssl !== undefined || opts.server instanceof https.Server;
    const promise = this.engine.listen(opts, tls).then(() => this);
    settle(promise, cb);
    return promise;
  }

  /** The WebSocket server that accepts connections; for serving on an existing HTTP server. */
  prepareWSServer(): WebSocketServer {
    return this.engine.wsServer();
  }

  /** Accepts an HTTP upgrade from a server of the user's own. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.engine.handleUpgrade(req, socket, head);
  }

  /** Dials a peer. Resolves with the unit once the handshake succeeds. */
  connect(address: string, options: ConnectOptions = {}, cb?: Callback<{ unit: Unit; ws: WebSocket }>): Promise<{ unit: Unit; ws: WebSocket }> {
    const args = resolveConnectArgs(address, options, cb);
    const promise = this.engine.connect(address, args.permanent, args.wsOptions).then(({ unit, ws }) => ({ unit: unitOf(unit), ws }));
    settle(promise, args.cb);
    return promise;
  }

  /** Dials what DNS lists for `target` and follows the listing (README, "Discovery through DNS"). */
  discover(target: DiscoverTarget, options: DiscoverOptions = {}): Discovery {
    return this.engine.discover(resolveDiscoverArgs(target, options));
  }

  /**
   * Closes every unit and the server and stops every reconnection. With `{ drain: true }` it
   * first stops taking new work (remotes learn it at once and turn to other units), lets what is
   * in flight finish, up to `timeout` ms (default 10 s), then closes.
   */
  close(options?: CloseOptions | ((err?: Error) => void), cb?: (err?: Error) => void): Promise<void> {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (cb !== undefined && typeof cb !== 'function') throw new InvalidArgumentError('cb', 'a function', cb);
    const { drain, timeout } = resolveCloseOptions(options);
    const promise = (drain ? this.engine.drain(timeout) : Promise.resolve())
      .then(() => this.engine.close())
      .then((closedNow) => {
        if (closedNow) this.emit('close');
      });
    if (cb !== undefined) promise.then(() => cb(), cb);
    return promise;
  }

  /**
   * A snapshot of the peer's counters: requests in flight, completed and failed by code,
   * requests handled, messages, frames and bytes both ways, and per unit and connection the
   * buffered bytes and a moving average of the round-trip time. Totals never go down: units
   * that left still count.
   */
  stats(): PeerStats {
    return this.engine.stats();
  }

  /** @internal A role was enabled or disabled. */
  _rolesChanged(): void {
    this.engine.rolesUpdated();
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
