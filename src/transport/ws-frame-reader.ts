/**
 * Reads WebSocket frames (RFC 6455 §5) from a socket's chunks, for WsWire.
 *
 * A message that lies whole in one chunk is handed on as a view of it: no copy, one Buffer
 * object per message. A message split over chunks is gathered into memory of its exact size as
 * the chunks come (one copy, never a concatenation per chunk). Fragmented messages (a Go peer
 * fragments what exceeds its write buffer) are joined. Chunks from a net.Socket are fresh
 * memory for every read, so views of them stay valid and unmasking in place is safe.
 */

/** What the reader reports. A protocol error ends reading: the wire closes with its code. */
export interface FrameSink {
  onMessage(data: Buffer): void;
  onText(): void;
  onPing(data: Buffer): void;
  onPong(data: Buffer): void;
  onClose(code: number, reason: string): void;
  onError(code: number, reason: string): void;
}

const enum Op {
  CONTINUATION = 0x0,
  TEXT = 0x1,
  BINARY = 0x2,
  CLOSE = 0x8,
  PING = 0x9,
  PONG = 0xa,
}

/** Close codes of RFC 6455 §7.4.1. */
export const WsCode = { NO_STATUS: 1005, PROTOCOL_ERROR: 1002, TOO_BIG: 1009 } as const;

export class WsFrameReader {
  /** Header bytes of a frame that spans chunks. */
  private leftover: Buffer | null = null;
  /** The payload being gathered across chunks, and how much of it has come. */
  private target: Buffer | null = null;
  private filled = 0;
  private opcode = 0;
  private fin = false;
  private masked = false;
  /** Made at the first masked frame with a non-zero key (our own clients send zero keys). */
  private maskKey: Buffer | null = null;
  /** Fragments of a message in progress, its first opcode and its size so far. */
  private fragments: Buffer[] | null = null;
  private fragmentOpcode = 0;
  private fragmentBytes = 0;
  /** After a close frame or an error nothing more is read. */
  private done = false;

  constructor(
    /** Server side: frames must be masked; client side: they must not be. */
    private readonly server: boolean,
    /** The largest message accepted, in bytes. */
    private readonly maxPayload: number,
    private readonly sink: FrameSink,
  ) {}

  push(chunk: Buffer): void {
    if (this.done) return;
    let o = 0;
    if (this.target !== null) {
      o = this.fill(chunk);
      if (o === chunk.length || this.done) return;
    }
    if (this.leftover !== null) {
      chunk = Buffer.concat([this.leftover, o === 0 ? chunk : chunk.subarray(o)]);
      this.leftover = null;
      o = 0;
    }
    const end = chunk.length;
    while (o < end && !this.done) {
      const next = this.header(chunk, o);
      if (this.done) return;
      if (next < 0) {
        // An incomplete header: keep its bytes for the next chunk.
        this.leftover = chunk.subarray(o);
        return;
      }
      const length = this.length;
      o = next;
      if (end - o >= length) {
        this.frame(this.unmask(chunk.subarray(o, o + length)));
        o += length;
      } else {
        const target = length > POOLED_BELOW ? Buffer.allocUnsafeSlow(length) : Buffer.allocUnsafe(length);
        chunk.copy(target, 0, o, end);
        this.target = target;
        this.filled = end - o;
        return;
      }
    }
  }

  /** Length of the payload of the header last read. */
  private length = 0;

  /**
   * Reads a frame header at `o`: returns where the payload starts, -1 when the header is not
   * all here yet, or the end of the chunk after a protocol error (reported).
   */
  private header(chunk: Buffer, o: number): number {
    const avail = chunk.length - o;
    if (avail < 2) return -1;
    const b0 = chunk[o]!;
    const b1 = chunk[o + 1]!;
    let length = b1 & 0x7f;
    let h = 2;
    if (length === 126) {
      if (avail < 4) return -1;
      length = chunk.readUInt16BE(o + 2);
      h = 4;
    } else if (length === 127) {
      if (avail < 10) return -1;
      const high = chunk.readUInt32BE(o + 2);
      // Above 2^53 - 1 a length is not a safe integer; far above any maxPayload anyway.
      if (high > 0x1fffff) return this.fail(WsCode.TOO_BIG, 'A message was larger than maxPayload');
      length = high * 0x100000000 + chunk.readUInt32BE(o + 6);
      h = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked && avail < h + 4) return -1;
    if ((b0 & 0x70) !== 0) return this.fail(WsCode.PROTOCOL_ERROR, 'RSV bits must be clear');
    if (masked !== this.server) return this.fail(WsCode.PROTOCOL_ERROR, this.server ? 'Frames from a client must be masked' : 'Frames from a server must not be masked');
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (opcode >= Op.CLOSE) {
      if (opcode > Op.PONG) return this.fail(WsCode.PROTOCOL_ERROR, `Invalid opcode ${opcode}`);
      if (!fin || length > 125) return this.fail(WsCode.PROTOCOL_ERROR, 'Invalid control frame');
    } else if (opcode === Op.CONTINUATION) {
      if (this.fragments === null) return this.fail(WsCode.PROTOCOL_ERROR, 'A continuation frame with no message to continue');
    } else if (opcode > Op.BINARY) {
      return this.fail(WsCode.PROTOCOL_ERROR, `Invalid opcode ${opcode}`);
    } else if (this.fragments !== null) {
      return this.fail(WsCode.PROTOCOL_ERROR, 'A new message before the last one ended');
    }
    if (opcode < Op.CLOSE && this.fragmentBytes + length > this.maxPayload) {
      return this.fail(WsCode.TOO_BIG, 'A message was larger than maxPayload');
    }
    this.opcode = opcode;
    this.fin = fin;
    this.masked = masked && chunk.readUInt32BE(o + h) !== 0;
    if (this.masked) chunk.copy((this.maskKey ??= Buffer.alloc(4)), 0, o + h, o + h + 4);
    this.length = length;
    return o + h + (masked ? 4 : 0);
  }

  /** Copies the next part of a payload that spans chunks; returns how much of `chunk` it used. */
  private fill(chunk: Buffer): number {
    const target = this.target!;
    const n = Math.min(target.length - this.filled, chunk.length);
    chunk.copy(target, this.filled, 0, n);
    this.filled += n;
    if (this.filled === target.length) {
      this.target = null;
      this.frame(this.unmask(target));
    }
    return n;
  }

  private unmask(payload: Buffer): Buffer {
    if (this.masked) unmask(payload, this.maskKey!);
    return payload;
  }

  private frame(payload: Buffer): void {
    const sink = this.sink;
    switch (this.opcode) {
      case Op.BINARY:
        if (this.fin) sink.onMessage(payload);
        else this.startFragments(Op.BINARY, payload);
        return;
      case Op.TEXT:
        if (this.fin) sink.onText();
        else this.startFragments(Op.TEXT, payload);
        return;
      case Op.CONTINUATION: {
        this.fragments!.push(payload);
        this.fragmentBytes += payload.length;
        if (!this.fin) return;
        const message = Buffer.concat(this.fragments!, this.fragmentBytes);
        const opcode = this.fragmentOpcode;
        this.fragments = null;
        this.fragmentBytes = 0;
        if (opcode === Op.BINARY) sink.onMessage(message);
        else sink.onText();
        return;
      }
      case Op.PING:
        sink.onPing(payload);
        return;
      case Op.PONG:
        sink.onPong(payload);
        return;
      case Op.CLOSE:
        this.closeFrame(payload);
        return;
    }
  }

  private startFragments(opcode: number, payload: Buffer): void {
    this.fragments = [payload];
    this.fragmentOpcode = opcode;
    this.fragmentBytes = payload.length;
  }

  private closeFrame(payload: Buffer): void {
    this.done = true;
    if (payload.length === 0) return this.sink.onClose(WsCode.NO_STATUS, '');
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : 0;
    if (!validCloseCode(code)) {
      this.done = false;
      this.fail(WsCode.PROTOCOL_ERROR, `Invalid close code ${code}`);
      return;
    }
    this.sink.onClose(code, payload.toString('utf8', 2));
  }

  /** Ends reading with a protocol error; the caller returns at once (`done` is set). */
  private fail(code: number, reason: string): number {
    this.done = true;
    this.sink.onError(code, reason);
    return 0;
  }
}

/** Payloads gathered across chunks below this size come from Node's shared pool. */
const POOLED_BELOW = 4096;

/** §7.4: codes a close frame may carry. */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** XORs `data` with the 4-byte key in place: bufferutil's native loop when it is installed. */
const unmask: (data: Buffer, key: Buffer) => void = loadUnmask();

function loadUnmask(): (data: Buffer, key: Buffer) => void {
  try {
    // An optional dependency of this package (and of ws): a native loop, much faster above ~32 bytes.
    const native = (require('bufferutil') as { unmask(data: Buffer, key: Buffer): void }).unmask;
    return (data, key) => (data.length < 32 ? unmaskJs(data, key) : native(data, key));
  } catch {
    return unmaskJs;
  }
}

function unmaskJs(data: Buffer, key: Buffer): void {
  for (let i = 0; i < data.length; i++) data[i]! ^= key[i & 3]!;
}
