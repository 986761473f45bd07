import type * as http from 'node:http';
import type * as https from 'node:https';
import type { ClientOptions } from 'ws';
import { InvalidArgumentError } from '../errors';

// Where a peer listens and what it dials: `listen`'s and `connect`'s arguments, checked at the call.

export interface ListenOptions {
  port?: number;
  host?: string;
  /**
   * Listen on this Unix domain socket instead of TCP (peers on the same host dial
   * `ws+unix:<socketPath>`). Not with `port`, `host`, `server` or `ssl`. A socket file left by a
   * crashed process (nothing accepts on it) is replaced; one that is in use fails with EADDRINUSE.
   * `close()` removes the file.
   */
  socketPath?: string;
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

/** Checks `connect`'s address, and takes a callback given in the place of the options. */
export function resolveConnectArgs<C>(address: unknown, options: ConnectOptions | C, cb: C | undefined): { permanent: boolean; wsOptions: ClientOptions; cb: C | undefined } {
  if (typeof address !== 'string' || !/^(wss?:\/\/|ws\+unix:.)/.test(address)) {
    throw new InvalidArgumentError('address', 'a ws://, wss:// or ws+unix: URL', address);
  }
  if (typeof options === 'function') return { permanent: true, wsOptions: {}, cb: options as C };
  const { permanent = true, ...wsOptions } = options as ConnectOptions;
  return { permanent: permanent !== false, wsOptions, cb };
}

/** Checks `listen`'s argument: a port number or ListenOptions. */
export function resolveListenOptions(options: number | ListenOptions): ListenOptions {
  const opts: ListenOptions = typeof options === 'number' ? { port: options } : options;
  if (typeof opts !== 'object' || opts === null) throw new InvalidArgumentError('options', 'a port number or an object', options);
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
    throw new InvalidArgumentError('port', 'an integer from 0 to 65535', opts.port);
  }
  if (opts.socketPath !== undefined) {
    if (typeof opts.socketPath !== 'string' || opts.socketPath.length === 0) {
      throw new InvalidArgumentError('socketPath', 'a non-empty string', opts.socketPath);
    }
    // A Unix socket has no port or interface, and our clients cannot dial TLS over one.
    for (const name of ['port', 'host', 'server', 'ssl'] as const) {
      if (opts[name] !== undefined) throw new InvalidArgumentError(name, 'unset with socketPath', opts[name]);
    }
  }
  return opts;
}
