import type * as http from 'node:http';
import type * as https from 'node:https';
import type { ClientOptions } from 'ws';
import type { Connection } from './connection';

/** Where a peer listens (docs/protocol.md §1: any path unless one is configured). */
export interface ListenSpec {
  port?: number;
  host?: string;
  /** A Unix domain socket to listen on instead of TCP (no port, host or server then). */
  socketPath?: string;
  path?: string;
  ssl?: https.ServerOptions;
  server?: http.Server | https.Server;
}

/**
 * Makes connections: dials addresses and accepts inbound upgrades. The peer talks only to this
 * and to `Connection`, so sockets can live on the main thread or in I/O threads.
 */
export interface Transport {
  /** Opens a WebSocket to `address`; resolves once it is open (before the handshake). */
  dial(address: string, wsOptions: ClientOptions): Promise<Connection>;
  /** Starts serving; every accepted WebSocket goes to `onConnection`. Resolves with the port (none for a socket path). */
  listen(spec: ListenSpec, onConnection: (conn: Connection) => void): Promise<number | undefined>;
  /** Stops accepting; resolves once the listener is closed. Open connections are the peer's. */
  closeListener(): Promise<void>;
  /** Ends whatever the transport runs (threads, servers). */
  shutdown(): Promise<void>;
}
