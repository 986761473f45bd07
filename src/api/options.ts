import dns from 'node:dns';
import net from 'node:net';
import type { ClientOptions } from 'ws';
import { InvalidArgumentError } from '../errors';
import type { HmacFn } from '../auth/keyring';
import { defaultPool, type BufferPool } from '../protocol/buffer-pool';
import { Timing } from '../protocol/constants';
import { DEFAULT_WRITE_BATCH, type HeartbeatOptions, type WriteBatch } from '../transport/connection';
import type { EngineConfig } from '../engine/peer-engine';
import { resolveLimits, type Limits } from '../engine/limits';
import type { DiscoverySpec, DnsResolver, Lookup } from '../engine/discovery';

export type { Discovery } from '../engine/discovery';

/** Options of `new Peer()`, with the limits `maxPayload`, `maxPendingHandshakes`, `maxInFlight`, `maxStreams` and `streamWindow` (engine/limits.ts). */
export interface PeerOptions extends Partial<Limits> {
  /** A human name sent to remote peers. */
  name?: string;
  /** Take part in acquaintance (docs/protocol.md §7). Default true. */
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
   * An address where remote peers can dial this one, offered in the handshake (a docs/protocol.md
   * §9 extension, `ext.listen`) so that peers it connected to can introduce it to others
   * although they never dialed it. `true`: `ws://<listen host or 127.0.0.1>:<port>` once listening.
   */
  advertise?: string | boolean;
  /**
   * Threads that own this peer's sockets (WebSocket framing, TLS, heartbeats, writes), so its
   * connections stay alive while the main thread is busy. Each frame crosses between threads
   * (two copies and a wake-up), so it costs CPU and latency on plain `ws://`; it pays for TLS
   * and for main threads that block. Default 0 (sockets on the main thread), or the environment
   * variable ROLETALK_IO_THREADS. Measured in native-notes/io-threads.md.
   */
  ioThreads?: number;
  /**
   * Threads that compute handshake HMACs (a piscina pool). Default 0: inline, which is faster
   * unless the main thread is saturated during a storm of keyed handshakes.
   */
  authThreads?: number;
}

export { resolveConnectArgs, resolveListenOptions, type ConnectOptions, type ListenOptions } from './listen-options';

/** Checks every option once, naming the one that is wrong, and fills in the defaults. */
export function resolvePeerOptions(options: PeerOptions): EngineConfig {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  const { name = '', friendly = true, requestTimeout = Timing.REQUEST_TIMEOUT } = options;
  if (typeof name !== 'string') throw new InvalidArgumentError('name', 'a string', name);
  if (typeof friendly !== 'boolean') throw new InvalidArgumentError('friendly', 'a boolean', friendly);
  if (typeof requestTimeout !== 'number' || !(requestTimeout >= 0)) {
    throw new InvalidArgumentError('requestTimeout', 'a number of milliseconds >= 0', requestTimeout);
  }
  const authThreads = options.authThreads ?? 0;
  if (!Number.isInteger(authThreads) || authThreads < 0 || authThreads > 64) {
    throw new InvalidArgumentError('authThreads', 'an integer from 0 to 64', options.authThreads);
  }
  const advertise = options.advertise ?? false;
  if (typeof advertise === 'string' ? !/^wss?:\/\//.test(advertise) : typeof advertise !== 'boolean') {
    throw new InvalidArgumentError('advertise', 'a ws:// or wss:// URL or a boolean', advertise);
  }
  const writeBatch = { ...DEFAULT_WRITE_BATCH, ...options.writeBatch };
  if (!Number.isInteger(writeBatch.frames) || writeBatch.frames < 1) {
    throw new InvalidArgumentError('writeBatch.frames', 'an integer >= 1', writeBatch.frames);
  }
  if (!(writeBatch.bytes >= 0)) throw new InvalidArgumentError('writeBatch.bytes', 'a number >= 0', writeBatch.bytes);
  const ioThreads = options.ioThreads ?? Number(process.env.ROLETALK_IO_THREADS ?? 0);
  if (!Number.isInteger(ioThreads) || ioThreads < 0 || ioThreads > 64) {
    throw new InvalidArgumentError('ioThreads', 'an integer from 0 to 64', options.ioThreads ?? process.env.ROLETALK_IO_THREADS);
  }
  return {
    name,
    friendly,
    limits: resolveLimits(options),
    requestTimeout,
    heartbeat: {
      interval: options.heartbeat?.interval ?? Timing.HEARTBEAT_INTERVAL,
      timeout: options.heartbeat?.timeout ?? Timing.HEARTBEAT_TIMEOUT,
    },
    handshakeTimeout: options.handshakeTimeout ?? Timing.HANDSHAKE_TIMEOUT,
    pool: options.pool ?? defaultPool,
    hmac: options.hmac,
    authThreads,
    writeBatch,
    advertise,
    ioThreads,
  };
}

export interface CloseOptions {
  /** Finish the work in flight before closing; remotes are told at once to send new work elsewhere. */
  drain?: boolean;
  /** With `drain`: the longest wait for work in flight, in milliseconds (default 10 000). */
  timeout?: number;
}

/** Checks `close`'s options. */
export function resolveCloseOptions(options: CloseOptions | undefined): { drain: boolean; timeout: number } {
  if (options === undefined) return { drain: false, timeout: 0 };
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object { drain?, timeout? } or a callback', options);
  const { drain = false, timeout = 10_000 } = options;
  if (typeof drain !== 'boolean') throw new InvalidArgumentError('drain', 'a boolean', drain);
  if (typeof timeout !== 'number' || !(timeout >= 0)) throw new InvalidArgumentError('timeout', 'a number of milliseconds >= 0', timeout);
  return { drain, timeout };
}

/** What `discover` resolves: `'host:port'`, a `ws://` or `wss://` URL, an SRV name (`'_svc._tcp.domain'`) or `{ srv }`. */
export type DiscoverTarget = string | { srv: string };

export interface DiscoverOptions {
  /** Milliseconds between two resolutions. Default 10 000. */
  interval?: number;
  /** Dial `wss://` (a URL target says it itself). Default false. */
  tls?: boolean;
  /** The path to dial, such as `/roletalk` (a URL target carries its own). */
  path?: string;
  /** DNS servers to ask instead of the system's: IP addresses, each with an optional `:port`. */
  servers?: string[];
  /** Look-ups of your own (`{ resolve4, resolve6, resolveSrv }`, such as a `dns.promises.Resolver`). */
  resolver?: DnsResolver;
  /** ws client options for every dial (`ca`, `rejectUnauthorized`, `headers`, ...). */
  wsOptions?: ClientOptions;
}

const TARGET = "'host:port', a ws:// or wss:// URL, an SRV name such as '_roletalk._tcp.example.com', or { srv: name }";
const NAME = /^(?=.*[A-Za-z0-9])[A-Za-z0-9_.-]+$/;

/** Checks `discover`'s arguments, naming the one that is wrong. */
export function resolveDiscoverArgs(target: DiscoverTarget, options: DiscoverOptions): DiscoverySpec {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'an object', options);
  const { interval = 10_000, tls, path, servers, resolver, wsOptions = {} } = options;
  if (typeof interval !== 'number' || !(interval >= 1 && interval <= 2 ** 31 - 1)) {
    throw new InvalidArgumentError('options.interval', 'a number of milliseconds from 1 to 2147483647', interval);
  }
  if (tls !== undefined && typeof tls !== 'boolean') throw new InvalidArgumentError('options.tls', 'a boolean', tls);
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new InvalidArgumentError('options.path', "a string starting with '/'", path);
  }
  if (typeof wsOptions !== 'object' || wsOptions === null) throw new InvalidArgumentError('options.wsOptions', 'an object', wsOptions);
  const parsed = parseTarget(target);
  if (parsed.scheme !== undefined && tls !== undefined && tls !== (parsed.scheme === 'wss')) {
    throw new InvalidArgumentError('options.tls', `to agree with the URL's scheme ${parsed.scheme}`, tls);
  }
  if (parsed.path !== undefined && path !== undefined) throw new InvalidArgumentError('options.path', 'left out when the URL has a path', path);
  return {
    target,
    lookup: parsed.lookup,
    scheme: parsed.scheme ?? (tls === true ? 'wss' : 'ws'),
    path: parsed.path ?? path ?? '',
    interval,
    resolver: resolverOf(servers, resolver, parsed.lookup),
    wsOptions,
  };
}

function parseTarget(target: DiscoverTarget): { lookup: Lookup; scheme?: 'ws' | 'wss'; path?: string } {
  if (typeof target === 'object' && target !== null && typeof target.srv === 'string' && NAME.test(target.srv)) {
    return { lookup: { kind: 'srv', name: target.srv } };
  }
  if (typeof target !== 'string') throw new InvalidArgumentError('target', TARGET, target);
  if (/^wss?:\/\//.test(target)) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new InvalidArgumentError('target', TARGET, target);
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!NAME.test(host) && net.isIP(host) === 0) throw new InvalidArgumentError('target', TARGET, target);
    const scheme = url.protocol === 'wss:' ? 'wss' : 'ws';
    const port = url.port === '' ? (scheme === 'wss' ? 443 : 80) : Number(url.port);
    const rest = url.pathname + url.search;
    return { lookup: { kind: 'host', host, port }, scheme, ...(rest === '/' ? {} : { path: rest }) };
  }
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(target);
  if (m !== null) {
    const host = m[1] ?? m[2]!;
    const port = Number(m[3]);
    if ((NAME.test(host) || net.isIP(host) !== 0) && port >= 1 && port <= 65535) return { lookup: { kind: 'host', host, port } };
  } else if (target.startsWith('_') && NAME.test(target)) {
    return { lookup: { kind: 'srv', name: target } };
  }
  throw new InvalidArgumentError('target', TARGET, target);
}

function resolverOf(servers: string[] | undefined, resolver: DnsResolver | undefined, lookup: Lookup): DnsResolver {
  if (servers !== undefined && resolver !== undefined) {
    throw new InvalidArgumentError('options.servers', 'left out when options.resolver is given', servers);
  }
  if (resolver !== undefined) {
    const needed = lookup.kind === 'srv' ? ['resolve4', 'resolve6', 'resolveSrv'] : ['resolve4', 'resolve6'];
    const functions = resolver as unknown as Record<string, unknown> | null;
    if (typeof functions !== 'object' || functions === null || needed.some((f) => typeof functions[f] !== 'function')) {
      throw new InvalidArgumentError('options.resolver', `an object with the functions ${needed.join(', ')}`, resolver);
    }
    return resolver;
  }
  if (servers === undefined) return dns.promises;
  const own = new dns.promises.Resolver();
  try {
    if (!Array.isArray(servers) || servers.length === 0) throw new TypeError();
    own.setServers(servers);
  } catch {
    throw new InvalidArgumentError('options.servers', "a non-empty list of IP addresses, each with an optional ':port'", servers);
  }
  return own;
}
