import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { ConnectionClosedError } from '../errors';
import type { BufferPool } from '../protocol/buffer-pool';
import { DEFAULT_WRITE_BATCH, type Connection, type HeartbeatOptions, type WriteBatch } from './connection';
import type { ListenSpec, Transport } from './transport';
import { removeStaleSocket } from './unix-socket';
import { WsConnection } from './ws-connection';

/** The main-thread transport: `ws` sockets owned by this thread. */
export class WsTransport implements Transport {
  private server: http.Server | https.Server | undefined;
  private ownServer = false;
  /** The server listens because we told it to (ours, or a user's given with a port): we close it. */
  private startedServer = false;
  private wss: WebSocketServer | undefined;
  private onConnection: ((conn: Connection) => void) | undefined;

  constructor(
    private readonly pool: BufferPool,
    private readonly heartbeat: HeartbeatOptions,
    private readonly batch: WriteBatch = DEFAULT_WRITE_BATCH,
    /** The largest message ws accepts, on both sides (0: ws's own default of 100 MiB). */
    private readonly maxPayload = 0,
  ) {}

  dial(address: string, wsOptions: ClientOptions): Promise<Connection> {
    return new Promise((resolve, reject) => {
      // The peer's maxPayload wins over the connection's: it is what the peer offers remotes (§9).
      const ws = new WebSocket(address, { perMessageDeflate: false, ...wsOptions, ...this.limit });
      const onError = (err: Error): void => reject(err);
      const onClose = (code: number): void => reject(new ConnectionClosedError(code, 'closed before it opened'));
      ws.once('error', onError);
      ws.once('close', onClose);
      ws.once('open', () => {
        ws.off('error', onError);
        ws.off('close', onClose);
        resolve(new WsConnection(ws, true, this.pool, this.heartbeat, this.batch, this.maxPayload));
      });
    });
  }

  private get limit(): { maxPayload?: number } {
    return this.maxPayload > 0 ? { maxPayload: this.maxPayload } : {};
  }

  /** The HTTP(S) server listened on, while listening. */
  get httpServer(): http.Server | https.Server | undefined {
    return this.server;
  }

  /** The WebSocket server that accepts connections (no HTTP server of its own). */
  wsServer(): WebSocketServer {
    if (this.wss === undefined) {
      this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, ...this.limit });
    }
    return this.wss;
  }

  /** Accepts an upgrade, from our server or from a server of the user's. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, onConnection: (conn: Connection) => void): void {
    this.wsServer().handleUpgrade(req, socket, head, (ws) => {
      onConnection(new WsConnection(ws, false, this.pool, this.heartbeat, this.batch, this.maxPayload));
    });
  }

  async listen(spec: ListenSpec, onConnection: (conn: Connection) => void): Promise<number | undefined> {
    if (spec.socketPath !== undefined) await removeStaleSocket(spec.socketPath);
    const server = spec.server ?? (spec.ssl ? https.createServer(spec.ssl) : http.createServer());
    this.server = server;
    this.ownServer = spec.server === undefined;
    this.onConnection = onConnection;
    const path = spec.path;
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (path !== undefined && (req.url ?? '/').split('?')[0] !== path) {
        socket.destroy();
        return;
      }
      if (this.onConnection === undefined) {
        socket.destroy();
        return;
      }
      this.handleUpgrade(req, socket, head, this.onConnection);
    });
    if (this.ownServer) {
      server.on('request', (_req, res: http.ServerResponse) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('roletalk: WebSocket upgrade required\n');
      });
    }
    return new Promise((resolve, reject) => {
      const bound = (): void => {
        const address = server.address();
        // A Unix socket's address is its path: no port.
        resolve(typeof address === 'object' && address !== null ? address.port : undefined);
      };
      // A server of the user's that does not listen yet, given with a port, is started here, as
      // 1.1.x did (its listen() required a port and called server.listen with it).
      this.startedServer = this.ownServer || (spec.port !== undefined && !server.listening);
      if (!this.startedServer) {
        if (server.listening) bound();
        else server.once('listening', bound);
        return;
      }
      const onError = (err: Error): void => {
        this.server = undefined;
        reject(err);
      };
      server.once('error', onError);
      const where = spec.socketPath !== undefined ? { path: spec.socketPath } : { port: spec.port ?? 0, host: spec.host };
      server.listen(where, () => {
        server.off('error', onError);
        bound();
      });
    });
  }

  closeListener(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.onConnection = undefined;
    if (server === undefined || !this.startedServer) return Promise.resolve();
    if (!this.ownServer) {
      // The user's server, started here: stop it listening, but its other connections are not
      // ours to wait for.
      server.close();
      return Promise.resolve();
    }
    // Upgraded sockets count as the server's connections: close() waits for them, and the
    // peer closes them itself, so this resolves once the units are gone.
    return new Promise((resolve) => server.close(() => resolve()));
  }

  async shutdown(): Promise<void> {
    await this.closeListener();
    this.wss?.close();
    this.wss = undefined;
  }
}
