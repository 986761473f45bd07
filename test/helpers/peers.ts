import type { EventEmitter } from 'node:events';
import { createHmac } from 'node:crypto';
import type http from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { Peer, type ListenOptions, type PeerOptions, type ConnectOptions, type Unit } from '../../src';

/**
 * Shared plumbing of the integration tests: peers on 127.0.0.1 with ports from the OS, pairs
 * of connected peers, waiting for events with a deadline, and closing everything a test file
 * opened. Each test file calls `after(closeAll)`.
 */

type Closer = () => unknown;
const closers: Closer[] = [];

/** Registers something to close in `closeAll` (peers, raw sockets, servers). */
export function onCleanup(fn: Closer): void {
  closers.push(fn);
}

/** A Peer that `closeAll` closes. */
export function newPeer(options: PeerOptions = {}): Peer {
  const peer = new Peer(options);
  onCleanup(() => peer.close());
  return peer;
}

/** A Peer listening on 127.0.0.1, on a port chosen by the OS unless `listen.port` is given. */
export async function listeningPeer(options: PeerOptions = {}, listen: ListenOptions = {}): Promise<Peer> {
  const peer = newPeer(options);
  await peer.listen({ port: 0, host: '127.0.0.1', ...listen });
  return peer;
}

export function urlOf(peer: Peer, path = ''): string {
  if (peer.port === undefined) throw new Error('the peer does not listen');
  return `ws://127.0.0.1:${peer.port}${path}`;
}

export interface Pair {
  server: Peer;
  client: Peer;
  /** The client's unit for the server. */
  unit: Unit;
  /** The server's unit for the client. */
  remote: Unit;
}

/**
 * A listening `server` and a `client` connected to it. `setup` runs on both before they
 * connect (roles, destinations, keys).
 */
export async function connectedPair(
  opts: {
    server?: PeerOptions;
    client?: PeerOptions;
    connect?: ConnectOptions;
    setup?: (server: Peer, client: Peer) => void;
  } = {},
): Promise<Pair> {
  const server = await listeningPeer({ name: 'server', ...opts.server });
  const client = newPeer({ name: 'client', ...opts.client });
  opts.setup?.(server, client);
  const remote = waitFor<[Unit]>(server, 'unit');
  const { unit } = await client.connect(urlOf(server), opts.connect);
  return { server, client, unit, remote: (await remote)[0] };
}

/**
 * Resolves with the arguments of the next `event` from `emitter` (that `filter` accepts);
 * rejects after `ms` so that a missing event fails the test instead of hanging it.
 */
export function waitFor<A extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  event: string,
  ms = 3000,
  filter: (...args: A) => boolean = () => true,
): Promise<A> {
  return new Promise<A>((resolve, reject) => {
    const listener = (...args: unknown[]): void => {
      if (!filter(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as A);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no "${event}" event within ${ms} ms`));
    }, ms);
    emitter.on(event, listener);
  });
}

/** Resolves once `predicate()` holds, checking every few ms; rejects after `ms`. */
export async function eventually(predicate: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await delay(5);
  }
}

/** Rejects with a clear message when `promise` takes longer than `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The error a Promise rejects with; fails when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection, got a value');
}

/** A handshake frame `[kind][json]`. */
export function jsonFrame(kind: number, value: unknown): Buffer {
  return Buffer.concat([Buffer.from([kind]), Buffer.from(JSON.stringify(value))]);
}

/** A CONFIRMED frame (§2) for a hand-driven peer. */
export function confirmedFrame(fields: { id: string; roles?: string[]; friendly?: boolean; name?: string; tags?: Record<string, string> }): Buffer {
  return jsonFrame(3, {
    id: fields.id,
    roles: fields.roles ?? [],
    friendly: fields.friendly ?? false,
    name: fields.name ?? 'raw',
    meta: { os: 'test', runtime: 'raw', time: Date.now(), uptime: 0, protocol: '2.0.0' },
    tags: fields.tags ?? {},
  });
}

/** hex(HMAC-SHA256(key, challenge text)), the proof of §2. */
export function proofOf(key: string, challenge: string): string {
  return createHmac('sha256', key).update(challenge).digest('hex');
}

/** A REQUEST frame (type 101) built by hand, with a 1-byte correlation id unless given bytes. */
export function requestFrame(role: string, event: string, corr: number | Buffer, payload: Buffer): Buffer {
  const r = Buffer.from(role);
  const e = Buffer.from(event);
  const c = typeof corr === 'number' ? Buffer.from([corr]) : corr;
  const head = Buffer.alloc(6);
  head[0] = 101;
  head.writeUInt16BE(r.length, 1);
  head.writeUInt16BE(e.length, 3);
  head[5] = c.length;
  return Buffer.concat([head, r, e, c, payload]);
}

/** A string payload: datatype 3 and UTF-8. */
export function stringPayload(text: string): Buffer {
  return Buffer.concat([Buffer.from([3]), Buffer.from(text)]);
}

/**
 * A hand-driven keyless peer on the listening side: every WebSocket that connects gets our
 * CONFIRMED at once (as `id`), and every frame received after the remote's CONFIRMED is
 * counted per socket. For watching what a Peer puts on each of its connections.
 */
export class RawServer {
  readonly wss: WebSocketServer;
  readonly sockets: WebSocket[] = [];
  /** Frames after the handshake, per socket (same index as `sockets`). */
  readonly frames: Buffer[][] = [];
  port = 0;

  private constructor(
    readonly id: string,
    readonly roles: string[],
    options: { autoPong?: boolean },
    ready: (err?: Error) => void,
  ) {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: options.autoPong ?? true, perMessageDeflate: false }, () => {
      this.port = (this.wss.address() as { port: number }).port;
      ready();
    });
    this.wss.on('error', ready);
    this.wss.on('connection', (ws) => {
      const index = this.sockets.length;
      this.sockets.push(ws);
      this.frames.push([]);
      let confirmed = false;
      ws.on('error', () => {});
      ws.on('message', (data: Buffer) => {
        if (!confirmed && data[0] === 3) confirmed = true;
        else if (confirmed) this.frames[index]!.push(data);
      });
      ws.send(confirmedFrame({ id: this.id, roles: this.roles }));
    });
  }

  static start(options: { id?: string; roles?: string[]; autoPong?: boolean } = {}): Promise<RawServer> {
    return new Promise((resolve, reject) => {
      const server: RawServer = new RawServer(
        options.id ?? 'c0ffeec0ffeec0ffeec0ffeec0ffee00',
        options.roles ?? ['raw'],
        options,
        (err) => (err ? reject(err) : resolve(server)),
      );
      onCleanup(() => server.close());
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}

/**
 * A bare WebSocket to a peer, driven by hand: it sends exactly the bytes given (the original's
 * frames, malformed input) and records every frame and the close. No handshake of its own.
 */
export class RawSocket {
  readonly frames: Buffer[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly closedPromise: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (f: Buffer) => this.frames.push(f));
    ws.on('error', () => {});
    this.closedPromise = new Promise((resolve) =>
      ws.on('close', (code: number, reason: Buffer) => {
        this.closed = { code, reason: reason.toString() };
        resolve(this.closed);
      }),
    );
  }

  static async open(url: string, options: WebSocket.ClientOptions = {}): Promise<RawSocket> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    const raw = new RawSocket(ws);
    onCleanup(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return raw;
  }

  send(frame: Buffer | string): void {
    this.ws.send(typeof frame === 'string' ? Buffer.from(frame, 'hex') : frame);
  }

  /** The first frame received that matches, waiting for it if need be. */
  async next(match: (f: Buffer) => boolean, ms = 3000): Promise<Buffer> {
    await eventually(() => this.frames.some(match), ms, 'a matching frame');
    return this.frames.find(match)!;
  }

  waitClose(ms = 3000): Promise<{ code: number; reason: string }> {
    return within(this.closedPromise, ms, 'the close');
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Closes every peer, socket and server the tests of this file opened. */
export async function closeAll(): Promise<void> {
  const all = closers.splice(0);
  await within(
    Promise.all(all.map((fn) => Promise.resolve().then(fn).catch(() => {}))),
    5000,
    'closing the peers',
  );
}

/** Closes an http server and every socket it still holds. */
export function closeHttp(server: http.Server): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}
