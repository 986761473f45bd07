import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket, { WebSocketServer } from 'ws';
import { BufferPool } from '../../protocol/buffer-pool';
import { WsConnection } from '../ws-connection';
import { FrameBatch } from './frame-batch';
import { RingReader, RingWriter } from './frame-ring';
import { MAX_SLOTS, type FromIo, type IoThreadData, type ToIo } from './messages';

/**
 * An I/O thread: it owns WebSocket connections (WebSocket framing, masking, heartbeats, socket
 * writes) so that they keep working while the main thread is busy. Frames go to and come from
 * the main thread in batches; what the balancing needs (bytes buffered, open or not) is kept
 * in a shared table the main thread reads without asking.
 */

const port = parentPort!;
const data = workerData as IoThreadData;
const shared = new Int32Array(data.shared);
// Frames here are views of transferred batches, never pooled: releasing them is a no-op.
const pool = new BufferPool({ slabSize: 1024 });
const connections: Array<WsConnection | undefined> = [];
const freeSlots: number[] = [];
let nextSlot = 0;
/** The peer's maxPayload, for ws on both sides. */
const limit = data.maxPayload > 0 ? { maxPayload: data.maxPayload } : {};
let server: http.Server | https.Server | undefined;
let wss: WebSocketServer | undefined;

const post = (message: FromIo, transfer?: ArrayBuffer[]): void => port.postMessage(message, transfer ?? []);
const toMain = new RingWriter(data.toMain, (buf, index) => post({ t: 'frames', buf, index }, [buf, index.buffer as ArrayBuffer]));
const bounced = new FrameBatch((buf, index) => post({ t: 'bounced', buf, index }, [buf, index.buffer as ArrayBuffer]));

function adopt(ws: WebSocket, outbound: boolean): { slot: number; conn: WsConnection } | undefined {
  const slot = freeSlots.pop() ?? (nextSlot < MAX_SLOTS ? nextSlot++ : -1);
  if (slot < 0) {
    ws.terminate();
    return undefined;
  }
  const conn = new WsConnection(ws, outbound, pool, data.heartbeat, data.batch, data.maxPayload);
  connections[slot] = conn;
  Atomics.store(shared, 2 * slot, 0);
  Atomics.store(shared, 2 * slot + 1, 1);
  // The main thread must stop choosing a connection as soon as it starts closing, from either side.
  conn.onClosing = () => Atomics.store(shared, 2 * slot + 1, 0);
  conn.onFrame = (frame) => toMain.add(slot, frame);
  conn.onClose = (code, reason) => {
    // Frames received before the close must reach the main thread before the close does.
    toMain.flush();
    Atomics.store(shared, 2 * slot + 1, 0);
    Atomics.store(shared, 2 * slot, 0);
    connections[slot] = undefined;
    // The slot is reused only once the main thread releases it: frames it sent before it saw
    // this close must not reach another connection.
    post({ t: 'closed', slot, code, reason });
  };
  // Keep the shared figure of buffered bytes current as the socket drains.
  (ws as unknown as { _socket?: Duplex })._socket?.on('drain', () => updateBuffered(slot));
  return { slot, conn };
}

function updateBuffered(slot: number): void {
  const conn = connections[slot];
  if (conn !== undefined) Atomics.store(shared, 2 * slot, Math.min(conn.bufferedAmount, 0x7fffffff));
}

const touched = new Set<number>();

function updateTouched(): void {
  for (const slot of touched) updateBuffered(slot);
  touched.clear();
}

const fromMain = new RingReader(
  data.toIo,
  (slot, frame) => {
    const conn = connections[slot];
    if (conn === undefined || !conn.open) {
      bounced.add(slot, frame);
      return;
    }
    conn.send(frame);
    touched.add(slot);
  },
  // After the corked batch is written (the connection uncorks on nextTick).
  () => setImmediate(updateTouched),
);

function handle(message: ToIo): void {
  // What the main thread put in the ring before posting this comes first.
  fromMain.pump();
  switch (message.t) {
    case 'frames':
      fromMain.overflowed(message.buf, message.index);
      return;
    case 'release':
      freeSlots.push(message.slot);
      return;
    case 'dial': {
      const ws = new WebSocket(message.address, { perMessageDeflate: false, ...message.options, ...limit });
      const fail = (err: Error & { code?: string }): void => post({ t: 'dialFailed', req: message.req, message: err.message, code: err.code });
      const onClose = (code: number): void => fail(new Error(`The connection closed before it opened (${code})`));
      ws.once('error', fail);
      ws.once('close', onClose);
      ws.once('open', () => {
        ws.off('error', fail);
        ws.off('close', onClose);
        const adopted = adopt(ws, true);
        if (adopted === undefined) fail(new Error('Too many connections on this I/O thread'));
        else post({ t: 'opened', req: message.req, slot: adopted.slot, outbound: true, remoteAddress: adopted.conn.remoteAddress, url: ws.url });
      });
      return;
    }
    case 'listen': {
      const srv = message.ssl ? https.createServer(message.ssl as https.ServerOptions) : http.createServer();
      const socketServer = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, ...limit });
      const path = message.path;
      srv.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        if (path !== undefined && (req.url ?? '/').split('?')[0] !== path) {
          socket.destroy();
          return;
        }
        socketServer.handleUpgrade(req, socket, head, (ws) => {
          const adopted = adopt(ws, false);
          if (adopted !== undefined) post({ t: 'opened', req: -1, slot: adopted.slot, outbound: false, remoteAddress: adopted.conn.remoteAddress, url: '' });
        });
      });
      srv.on('request', (_req, res: http.ServerResponse) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('roletalk: WebSocket upgrade required\n');
      });
      srv.once('error', (err: Error & { code?: string }) => post({ t: 'listenFailed', req: message.req, message: err.message, code: err.code }));
      // reusePort (Node 22.12+, Linux) lets every I/O thread accept on the same port.
      const options: Record<string, unknown> = message.socketPath !== undefined ? { path: message.socketPath } : { port: message.port, host: message.host };
      if (message.reusePort) options.reusePort = true;
      srv.listen(options, () => {
        server = srv;
        wss = socketServer;
        const address = srv.address();
        post({ t: 'listening', req: message.req, port: typeof address === 'object' && address !== null ? address.port : undefined });
      });
      return;
    }
    case 'unlisten': {
      const srv = server;
      server = undefined;
      wss?.close();
      wss = undefined;
      if (srv === undefined) post({ t: 'unlistened', req: message.req });
      else srv.close(() => post({ t: 'unlistened', req: message.req }));
      return;
    }
    case 'close':
      connections[message.slot]?.close(message.code, message.reason);
      return;
    case 'terminate':
      connections[message.slot]?.terminate();
      return;
  }
}

port.on('message', handle);
fromMain.start();
