import WebSocket from 'ws';

/**
 * A hand-driven roletalk peer over a bare `ws` socket, for tests that must put exact bytes on
 * the wire (frames an original peer sends, malformed input) and see exactly what comes back.
 */
export class RawPeer {
  /** Every frame received, in order. */
  readonly frames: Buffer[] = [];
  /** Frames not yet taken by `next`. */
  private readonly inbox: Buffer[] = [];
  /** Frames of the remote's CONFIRMED, parsed. */
  remote: { id: string; roles: string[]; [key: string]: unknown } | undefined;
  closed: { code: number; reason: string } | undefined;
  private waiters: Array<{ match: (f: Buffer) => boolean; resolve: (f: Buffer) => void }> = [];
  private closeWaiters: Array<(c: { code: number; reason: string }) => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.frames.push(data);
      const i = this.waiters.findIndex((w) => w.match(data));
      if (i !== -1) this.waiters.splice(i, 1)[0]!.resolve(data);
      else this.inbox.push(data);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closed);
    });
    ws.on('error', () => {});
  }

  /** Dials `url` and completes the keyless handshake with the given CONFIRMED fields. */
  static async connect(
    url: string,
    confirm: { id?: string; roles?: string[]; friendly?: boolean; name?: string; ext?: Record<string, unknown> } = {},
  ): Promise<RawPeer> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const peer = new RawPeer(ws);
    // The remote may confirm in the same tick as 'open': listen before awaiting it.
    const confirmed = peer.next((f) => f[0] === 3);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const body = {
      id: confirm.id ?? 'feedfacefeedfacefeedfacefeedface',
      roles: confirm.roles ?? [],
      friendly: confirm.friendly ?? false,
      name: confirm.name ?? 'raw',
      meta: { os: 'test', runtime: 'raw', time: Date.now(), uptime: 0, protocol: '2.0.0' },
      tags: {},
      ...(confirm.ext ? { ext: confirm.ext } : {}),
    };
    peer.sendJson(3, body);
    peer.remote = JSON.parse((await confirmed).toString('utf8', 1));
    return peer;
  }

  send(frame: Buffer | string): void {
    this.ws.send(typeof frame === 'string' ? Buffer.from(frame, 'hex') : frame, { binary: true });
  }

  sendJson(type: number, value: unknown): void {
    this.send(Buffer.concat([Buffer.from([type]), Buffer.from(JSON.stringify(value))]));
  }

  /** Takes the first matching frame not taken yet, waiting for it if need be. */
  next(match: (f: Buffer) => boolean = () => true, timeoutMs = 5000): Promise<Buffer> {
    const i = this.inbox.findIndex(match);
    if (i !== -1) return Promise.resolve(this.inbox.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('RawPeer: no matching frame in time')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  waitClose(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('RawPeer: not closed in time')), timeoutMs);
      this.closeWaiters.push((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
