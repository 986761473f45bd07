import { EventEmitter } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ClientOptions } from 'ws';
import { CloseCode } from '../../errors';
import type { BufferPool } from '../../protocol/buffer-pool';
import { bodyOf } from '../../protocol/payload';
import { ConnectionBase } from '../connection-base';
import type { Connection, HeartbeatOptions, WriteBatch } from '../connection';
import type { ListenSpec, Transport } from '../transport';
import { removeStaleSocket } from '../unix-socket';
import { forEachFrame } from './frame-batch';
import { createRing, DEFAULT_RING_BYTES, RingReader, RingWriter } from './frame-ring';
import { MAX_SLOTS, type FromIo, type IoThreadData, type ToIo } from './messages';

/**
 * Sockets in I/O threads (the `ioThreads` option). Node cannot move a socket between threads,
 * so each connection lives where it was made: dialed connections are spread round-robin over
 * the threads; inbound ones go to every thread when the platform lets several threads listen
 * on one port (`reusePort`, Node 22.12+ on Linux), else to the first thread (always for a Unix
 * socket path).
 */

/** Whether this Node lets several threads listen on one port. */
export const canReusePort = (() => {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  return process.platform === 'linux' && (major > 22 || (major === 22 && minor >= 12));
})();

class IoThread {
  readonly worker: Worker;
  readonly shared: Int32Array;
  readonly connections = new Map<number, ThreadConnection>();
  /** Closed connections by slot, until the slot is reused: frames bounced back find them. */
  private readonly retired = new Map<number, ThreadConnection>();
  readonly toIo: RingWriter;
  private readonly fromIo: RingReader;
  /**
   * Frames of connections whose 'opened' has not been read yet: the ring can overtake the
   * MessagePort. A slot without a connection has no other frames: frames before a close are
   * read before the close is, and none follow it.
   */
  private readonly early = new Map<number, Buffer[]>();
  private readonly waiting = new Map<number, (message: FromIo) => void>();
  private nextReq = 1;
  private holds = 0;

  constructor(
    heartbeat: HeartbeatOptions,
    batch: WriteBatch,
    private readonly onInbound: (conn: ThreadConnection) => void,
    private readonly pool: BufferPool,
    maxPayload: number,
    ringBytes: number,
  ) {
    const sab = new SharedArrayBuffer(MAX_SLOTS * 2 * Int32Array.BYTES_PER_ELEMENT);
    this.shared = new Int32Array(sab);
    const toIo = createRing(ringBytes);
    const toMain = createRing(ringBytes);
    const data: IoThreadData = { heartbeat, batch, maxPayload, shared: sab, toIo, toMain };
    this.worker = new Worker(path.join(__dirname, 'io-thread.js'), { workerData: data });
    this.worker.on('message', (message: FromIo) => this.receive(message));
    this.worker.on('error', (err) => {
      // An I/O thread that dies takes its connections with it; they close like any other.
      for (const conn of [...this.connections.values()]) conn.gone(1011, `I/O thread failed: ${err.message}`);
    });
    this.worker.unref();
    this.toIo = new RingWriter(toIo, (buf, index) => this.post({ t: 'frames', buf, index }, [buf, index.buffer as ArrayBuffer]));
    this.fromIo = new RingReader(toMain, (slot, frame) => {
      const conn = this.connections.get(slot);
      if (conn !== undefined) conn.frame(frame);
      else this.early.get(slot)?.push(frame) ?? this.early.set(slot, [frame]);
    });
    this.fromIo.start();
  }

  post(message: ToIo, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  /** Asks the thread something; the process stays alive until the answer comes. */
  request(make: (req: number) => ToIo): Promise<FromIo> {
    const req = this.nextReq++;
    this.hold(1);
    return new Promise((resolve) => {
      this.waiting.set(req, (message) => {
        this.hold(-1);
        resolve(message);
      });
      this.post(make(req));
    });
  }

  /** The thread keeps the process alive while it has a listener or a connection. */
  hold(delta: number): void {
    const before = this.holds;
    this.holds += delta;
    if (before === 0 && this.holds > 0) this.worker.ref();
    else if (before > 0 && this.holds === 0) this.worker.unref();
  }

  /** Stops reading the ring once the thread is gone. */
  stop(): void {
    this.fromIo.stop();
  }

  private receive(message: FromIo): void {
    // Frames the thread put in the ring before posting this come first (a close after its frames).
    this.fromIo.pump();
    switch (message.t) {
      case 'frames':
        this.fromIo.overflowed(message.buf, message.index);
        return;
      case 'bounced':
        forEachFrame(message.buf, message.index, (slot, frame) => {
          const conn = this.connections.get(slot) ?? this.retired.get(slot);
          conn?.onUndelivered?.(frame);
        });
        return;
      case 'closed': {
        const conn = this.connections.get(message.slot);
        if (conn === undefined) return;
        this.connections.delete(message.slot);
        this.retired.set(message.slot, conn);
        conn.gone(message.code, message.reason);
        // Frames already batched for the slot go first; the thread bounces them back.
        this.toIo.flush();
        this.post({ t: 'release', slot: message.slot });
        return;
      }
      case 'opened': {
        const conn = new ThreadConnection(this, message.slot, message.outbound, message.remoteAddress, this.pool);
        conn.url = message.url;
        this.retired.delete(message.slot);
        this.connections.set(message.slot, conn);
        const early = this.early.get(message.slot);
        this.early.delete(message.slot);
        if (early !== undefined) conn.holdBack(early);
        this.hold(1);
        if (message.req === -1) this.onInbound(conn);
        else this.settle(message.req, message, conn);
        return;
      }
      default:
        this.settle(message.req, message);
    }
  }

  private settle(req: number, message: FromIo, conn?: ThreadConnection): void {
    const resolve = this.waiting.get(req);
    this.waiting.delete(req);
    if (resolve !== undefined) resolve(conn !== undefined ? ({ ...message, conn } as unknown as FromIo) : message);
  }
}

/** A connection owned by an I/O thread, as the main thread sees it. */
export class ThreadConnection extends ConnectionBase implements Connection {
  private closed = false;
  /** This side asked to close: not open any more, whatever the I/O thread has done yet. */
  private closing = false;
  onUndelivered: ((frame: Buffer) => void) | undefined = undefined;
  /** The address dialed, for outbound connections. */
  url = '';
  private facade: ThreadSocket | undefined;
  /** Frames that overtook the connection's 'opened', and those behind them, until delivered. */
  private held: Buffer[] | null = null;

  constructor(
    private readonly thread: IoThread,
    private readonly slot: number,
    readonly outbound: boolean,
    readonly remoteAddress: string,
    private readonly pool: BufferPool,
  ) {
    super();
  }

  /** The I/O thread reported the close. */
  get isGone(): boolean {
    return this.closed;
  }

  /** Read from the table the I/O thread keeps, plus what still waits in this thread's batch. */
  get bufferedAmount(): number {
    return Atomics.load(this.thread.shared, 2 * this.slot) + this.thread.toIo.pendingBytes;
  }

  get open(): boolean {
    return !this.closed && !this.closing && Atomics.load(this.thread.shared, 2 * this.slot + 1) === 1;
  }

  send(frame: Buffer): void {
    if (this.open) {
      const body = bodyOf(frame);
      this.countOut(frame, body);
      this.thread.toIo.add(this.slot, frame, body);
    }
    // Copied into the batch: the pooled frame can be reused at once.
    this.pool.release(frame);
  }

  close(code: number = CloseCode.INTENTIONAL, reason = ''): void {
    if (this.closed) return;
    this.closing = true;
    this.thread.toIo.flush();
    this.thread.post({ t: 'close', slot: this.slot, code, reason });
  }

  terminate(): void {
    if (this.closed) return;
    this.closing = true;
    this.thread.toIo.flush();
    this.thread.post({ t: 'terminate', slot: this.slot });
  }

  /**
   * What `peer.connect()` returns as `ws` for a connection in an I/O thread: the WebSocket
   * itself lives in the other thread, so this stands in for the parts that make sense here.
   */
  get ws(): ThreadSocket {
    return (this.facade ??= new ThreadSocket(this));
  }

  /** @internal */
  frame(frame: Buffer): void {
    if (this.held !== null) this.held.push(frame);
    else this.deliver(frame);
  }

  /**
   * @internal Frames read from the ring before the connection's 'opened': they reach the engine
   * once it has taken the connection, as frames posted after 'opened' would.
   */
  holdBack(frames: Buffer[]): void {
    this.held = frames;
    setImmediate(this.release);
  }

  private readonly release = (): void => {
    const held = this.held ?? [];
    this.held = null;
    for (const frame of held) this.deliver(frame);
  };

  /** @internal */
  gone(code: number, reason: string): void {
    if (this.closed) return;
    // Frames read before the close go first.
    this.release();
    this.closed = true;
    this.thread.hold(-1);
    this.reportClose(code, reason);
    // As a ws object would: 1.1.x code waits for the 'close' of connect()'s ws.
    this.facade?.emit('close', code, Buffer.from(reason));
  }
}

/** The stand-in for a WebSocket owned by an I/O thread; it emits 'close' (code, reason Buffer). */
export class ThreadSocket extends EventEmitter {
  constructor(private readonly conn: ThreadConnection) {
    super();
  }

  get url(): string {
    return this.conn.url;
  }

  get readyState(): number {
    return this.conn.isGone ? 3 : this.conn.open ? 1 : 2;
  }

  get bufferedAmount(): number {
    return this.conn.bufferedAmount;
  }

  close(code?: number, reason?: string): void {
    this.conn.close(code, reason);
  }

  terminate(): void {
    this.conn.terminate();
  }
}

export class ThreadedTransport implements Transport {
  private readonly threads: IoThread[] = [];
  private nextDial = 0;
  private listeningOn: IoThread[] = [];
  private onConnection: ((conn: Connection) => void) | undefined;

  constructor(
    readonly size: number,
    private readonly pool: BufferPool,
    private readonly heartbeat: HeartbeatOptions,
    private readonly batch: WriteBatch,
    /** The largest message ws accepts, on both sides (0: ws's default). */
    private readonly maxPayload = 0,
    /** Data bytes of each frame ring (tests make it small to reach wrap-around and overflow). */
    private readonly ringBytes = Number(process.env.ROLETALK_IO_RING_BYTES ?? DEFAULT_RING_BYTES),
  ) {}

  /** Threads start on first use, so a peer that never connects costs none. */
  private thread(i: number): IoThread {
    while (this.threads.length <= i) {
      this.threads.push(new IoThread(this.heartbeat, this.batch, (conn) => this.onConnection?.(conn), this.pool, this.maxPayload, this.ringBytes));
    }
    return this.threads[i]!;
  }

  async dial(address: string, wsOptions: ClientOptions): Promise<Connection> {
    const thread = this.thread(this.nextDial++ % this.size);
    const reply = await thread.request((req) => ({ t: 'dial', req, address, options: cloneable(wsOptions) }));
    if (reply.t === 'opened') {
      return (reply as unknown as { conn: ThreadConnection }).conn;
    }
    const failure = reply as { message: string; code?: string };
    throw Object.assign(new Error(failure.message), failure.code ? { code: failure.code } : {});
  }

  async listen(spec: ListenSpec, onConnection: (conn: Connection) => void): Promise<number | undefined> {
    if (spec.server !== undefined) throw new TypeError('listen({ server }) with ioThreads: use handleUpgrade, or ioThreads: 0');
    this.onConnection = onConnection;
    // A Unix socket path is listened on by one thread: reusePort is for TCP ports.
    const unix = spec.socketPath !== undefined;
    const reusePort = canReusePort && !unix;
    const count = reusePort ? this.size : 1;
    let port: number | undefined = spec.port ?? 0;
    if (unix) await removeStaleSocket(spec.socketPath!);
    // With reusePort a busy port would be shared, not refused: check it is free first, so that
    // listening on a port another server holds fails with EADDRINUSE as it does without threads.
    if (reusePort && port !== 0) await assertPortFree(port, spec.host);
    for (let i = 0; i < count; i++) {
      const thread = this.thread(i);
      const reply = await thread.request((req) => ({
        t: 'listen',
        req,
        port: port ?? 0,
        host: spec.host,
        socketPath: spec.socketPath,
        path: spec.path,
        ssl: spec.ssl as Record<string, unknown> | undefined,
        reusePort,
      }));
      if (reply.t !== 'listening') {
        await this.closeListener();
        const failure = reply as { message: string; code?: string };
        throw Object.assign(new Error(failure.message), failure.code ? { code: failure.code } : {});
      }
      // Every further thread listens on the port the first one was given.
      port = reply.port;
      thread.hold(1);
      this.listeningOn.push(thread);
    }
    return port;
  }

  async closeListener(): Promise<void> {
    const threads = this.listeningOn;
    this.listeningOn = [];
    this.onConnection = undefined;
    await Promise.all(
      threads.map(async (thread) => {
        await thread.request((req) => ({ t: 'unlisten', req }));
        thread.hold(-1);
      }),
    );
  }

  async shutdown(): Promise<void> {
    await this.closeListener();
    const threads = this.threads.splice(0);
    for (const thread of threads) {
      for (const conn of [...thread.connections.values()]) conn.gone(CloseCode.INTENTIONAL, 'peer closed');
    }
    for (const thread of threads) thread.stop();
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }
}

function assertPortFree(port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** ws client options that can cross to another thread (functions and agents cannot). */
function cloneable(options: ClientOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (typeof value === 'function' || (typeof value === 'object' && value !== null && 'createConnection' in value)) continue;
    out[key] = value;
  }
  return out;
}

