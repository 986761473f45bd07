import net from 'node:net';
import { partialDriver, type Driver } from '../driver';
import type { ServerOptions } from '../messages';

/**
 * The raw `net` baseline, the ceiling of any framing over TCP in Node: frames are a 4-byte
 * big-endian length and the bytes, each side writes the frames of one tick as one Buffer, and
 * the server echoes every frame. Addresses are `host:port`.
 */

/** Gathers a socket's frames during a tick and writes them as one Buffer when it ends. */
class TickWriter {
  private frames: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly socket: net.Socket) {}

  write(body: Buffer): void {
    if (this.frames.length === 0) process.nextTick(() => this.flush());
    this.frames.push(body);
    this.bytes += 4 + body.length;
  }

  private flush(): void {
    const out = Buffer.allocUnsafe(this.bytes);
    let offset = 0;
    for (const body of this.frames) {
      out.writeUInt32BE(body.length, offset);
      body.copy(out, offset + 4);
      offset += 4 + body.length;
    }
    this.frames = [];
    this.bytes = 0;
    this.socket.write(out);
  }
}

/** Cuts a byte stream into frames; chunks are joined only when a header or body spans them. */
class FrameReader {
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly onFrame: (body: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes >= 4) {
      let head = this.chunks[0]!;
      if (head.length < 4) head = this.join();
      const end = 4 + head.readUInt32BE(0);
      if (this.bytes < end) return;
      if (head.length < end) head = this.join();
      this.onFrame(head.subarray(4, end));
      if (head.length > end) this.chunks[0] = head.subarray(end);
      else this.chunks.shift();
      this.bytes -= end;
    }
  }

  private join(): Buffer {
    const all = Buffer.concat(this.chunks, this.bytes);
    this.chunks = [all];
    return all;
  }
}

export async function serve(options: ServerOptions): Promise<string[]> {
  const addresses: string[] = [];
  for (let i = 0; i < options.peers; i++) {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      const writer = new TickWriter(socket);
      const reader = new FrameReader((body) => writer.write(body));
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
      socket.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(i === 0 ? options.port : 0, '127.0.0.1', resolve));
    addresses.push(`127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  }
  return addresses;
}

/** Requests only: echoes come back in order on a socket, so each answers the oldest waiter. */
export async function connect(addresses: string[], connections: number): Promise<Driver> {
  const lanes: Array<{ socket: net.Socket; writer: TickWriter; waiting: Array<(body: Buffer) => void> }> = [];
  for (const address of addresses) {
    const [host, port] = address.split(':') as [string, string];
    for (let c = 0; c < connections; c++) {
      const socket = net.connect({ host, port: Number(port), noDelay: true });
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      const waiting: Array<(body: Buffer) => void> = [];
      const reader = new FrameReader((body) => waiting.shift()?.(body));
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
      lanes.push({ socket, writer: new TickWriter(socket), waiting });
    }
  }
  let next = 0;
  return partialDriver('raw net', {
    units: addresses.length,
    request: (payload) =>
      new Promise((resolve) => {
        const lane = lanes[next++ % lanes.length]!;
        lane.waiting.push(resolve);
        lane.writer.write(payload);
      }),
    async close() {
      for (const { socket } of lanes) socket.destroy();
    },
  });
}
