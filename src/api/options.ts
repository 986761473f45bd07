import type * as http from 'node:http';
import type * as https from 'node:https';
import type { ClientOptions } from 'ws';
import { InvalidArgumentError } from '../errors';
import type { HmacFn } from '../auth/keyring';
import { defaultPool, type BufferPool } from '../protocol/buffer-pool';
import { Timing } from '../protocol/constants';
import { DEFAULT_WRITE_BATCH, type HeartbeatOptions, type WriteBatch } from '../transport/connection';
import type { EngineConfig } from '../engine/peer-engine';

export interface PeerOptions {
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
  /** Redial when the connection closes, unless this side closed the unit on purpose. Default true. */
  permanent?: boolean;
}

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

/** Checks `listen`'s argument: a port number or ListenOptions. */
export function resolveListenOptions(options: number | ListenOptions): ListenOptions {
  const opts: ListenOptions = typeof options === 'number' ? { port: options } : options;
  if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('options', 'a port number or an object', options);
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
    throw new InvalidArgumentError('port', 'an integer from 0 to 65535', opts.port);
  }
  return opts;
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
