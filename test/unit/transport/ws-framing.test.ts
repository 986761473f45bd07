import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ws from 'ws';
import fc from 'fast-check';
import { BufferPool } from '../../../src/protocol';
import { WsFrameReader, type FrameSink } from '../../../src/transport/ws-frame-reader';
import { WsFrameWriter, type WritableSocket } from '../../../src/transport/ws-frame-writer';

// This project's WebSocket framing (src/transport/ws-frame-*.ts) against the examples of
// RFC 6455 §5.7 and against ws, the library every original peer of Node.js reads with.

type Event = [kind: string, ...args: unknown[]];

function reader(server: boolean, maxPayload = 1 << 20): { read: WsFrameReader; events: Event[] } {
  const events: Event[] = [];
  const sink: FrameSink = {
    onMessage: (data) => events.push(['message', Buffer.from(data)]),
    onText: () => events.push(['text']),
    onPing: (data) => events.push(['ping', data.toString()]),
    onPong: (data) => events.push(['pong', data.toString()]),
    onClose: (code, reason) => events.push(['close', code, reason]),
    onError: (code, reason) => events.push(['error', code, reason]),
  };
  return { read: new WsFrameReader(server, maxPayload, sink), events };
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');

test('RFC 6455 §5.7 examples: text, masked text, fragments, ping and pong, 256 B and 64 KiB binary', () => {
  const client = reader(false);
  client.read.push(hex('81 05 48656c6c6f'));
  client.read.push(hex('01 03 48656c 80 02 6c6f'));
  client.read.push(hex('89 05 48656c6c6f'));
  client.read.push(Buffer.concat([hex('82 7E 0100'), Buffer.alloc(256, 7)]));
  client.read.push(Buffer.concat([hex('82 7F 0000000000010000'), Buffer.alloc(65536, 9)]));
  assert.deepEqual(client.events.slice(0, 3), [['text'], ['text'], ['ping', 'Hello']]);
  assert.deepEqual(client.events[3], ['message', Buffer.alloc(256, 7)]);
  assert.deepEqual(client.events[4], ['message', Buffer.alloc(65536, 9)]);

  const server = reader(true);
  server.read.push(hex('81 85 37fa213d 7f9f4d5158'));
  server.read.push(hex('8a 85 37fa213d 7f9f4d5158'));
  // The same key over a binary message: unmasked in place.
  server.read.push(hex('82 85 37fa213d 7f9f4d5158'));
  assert.deepEqual(server.events, [['text'], ['pong', 'Hello'], ['message', Buffer.from('Hello')]]);
});

test('a message split at every byte boundary, or several in one chunk, reads the same', () => {
  const bytes = Buffer.concat([hex('82 7E 012c'), Buffer.alloc(300, 3), hex('82 03 010203'), hex('88 02 03e8')]);
  for (let cut = 1; cut < bytes.length; cut++) {
    const { read, events } = reader(false);
    read.push(bytes.subarray(0, cut));
    read.push(bytes.subarray(cut));
    assert.deepEqual(events, [['message', Buffer.alloc(300, 3)], ['message', hex('010203')], ['close', 1000, '']], `cut at ${cut}`);
  }
  const { read, events } = reader(false);
  for (const byte of bytes) read.push(Buffer.from([byte]));
  assert.equal(events.length, 3);
});

test('a message that lies in one chunk is a view of it, not a copy', () => {
  const chunk = Buffer.concat([hex('82 02 aabb'), hex('82 01 cc')]);
  const views: Buffer[] = [];
  const sink = { onMessage: (d: Buffer) => views.push(d) } as unknown as FrameSink;
  new WsFrameReader(false, 1024, sink).push(chunk);
  assert.equal(views.length, 2);
  for (const view of views) assert.equal(view.buffer, chunk.buffer);
});

test('protocol violations and limits end reading with 1002 or 1009 and a reason', () => {
  const cases: Array<[server: boolean, bytes: string, code: number]> = [
    [false, 'c2 00', 1002], // RSV1 without an extension
    [true, '82 01 00', 1002], // unmasked from a client
    [false, '82 81 00000000 00', 1002], // masked from a server
    [false, '89 7e 007e', 1002], // a control frame over 125 bytes
    [false, '09 00', 1002], // a fragmented control frame
    [false, '80 00', 1002], // a continuation with nothing to continue
    [false, '02 01 00 82 01 00', 1002], // a new message inside a fragmented one
    [false, '83 00', 1002], // a reserved opcode
    [false, '88 02 03ed', 1002], // close code 1005 may not be sent
    [false, '82 7e 0401', 1009], // 1025 bytes over a limit of 1024
    [false, '02 7e 0300 ' + '00'.repeat(768) + ' 80 7e 0101', 1009], // fragments adding up over it
  ];
  for (const [server, bytes, code] of cases) {
    const { read, events } = reader(server, 1024);
    read.push(hex(bytes));
    read.push(hex('82 01 00')); // nothing is read after the error
    assert.equal(events.length, 1, bytes);
    assert.equal(events[0]![0], 'error', bytes);
    assert.equal(events[0]![1], code, bytes);
    assert.ok(String(events[0]![2]).length > 0, 'a reason is given');
  }
});

// ws exports its Receiver and Sender, though @types/ws does not declare them.
const { Receiver, Sender } = ws as unknown as {
  Receiver: new (options: object) => NodeJS.EventEmitter & { write(chunk: Buffer): void };
  Sender: { frame(data: Buffer, options: object): Buffer[] };
};

/** A socket that keeps what is written, corks included. */
function recordingSocket(): WritableSocket & { chunks: Buffer[]; writes: number } {
  const chunks: Buffer[] = [];
  const socket = {
    chunks,
    writes: 0,
    write(data: Uint8Array, callback?: () => void) {
      chunks.push(Buffer.from(data));
      socket.writes++;
      callback?.();
      return true;
    },
    cork() {},
    uncork() {},
  };
  return socket;
}

/** ws's own Receiver reads `bytes` (as a client when `fromClient` is false). */
function readWithWs(bytes: Buffer, fromClient: boolean): Buffer[] {
  const messages: Buffer[] = [];
  const receiver = new Receiver({ isServer: fromClient, binaryType: 'nodebuffer' });
  receiver.on('message', (data: Buffer, isBinary: boolean) => {
    assert.ok(isBinary);
    messages.push(Buffer.from(data));
  });
  receiver.on('error', (err: Error) => assert.fail(err));
  receiver.write(bytes);
  return messages;
}

test('ws reads what the writer writes, from a client (zero mask key) and from a server, small, batched and large', async () => {
  for (const client of [false, true]) {
    const pool = new BufferPool({ slabSize: 1 << 20 });
    const socket = recordingSocket();
    const writer = new WsFrameWriter(socket, client, pool, { frames: 16, bytes: 64 * 1024 });
    const frame = (fill: number, size: number): Buffer => {
      const buf = pool.reserve(size);
      buf.fill(fill, pool.offset, pool.offset + size);
      return pool.commit(pool.offset + size);
    };
    const sizes = [0, 1, 125, 126, 65535, 65536, 70000];
    const expected: Buffer[] = [];
    for (const [i, size] of sizes.entries()) {
      writer.send(frame(i + 1, size));
      expected.push(Buffer.alloc(size, i + 1));
    }
    // A body sent after its head, as one message.
    writer.send(frame(0xaa, 3), Buffer.alloc(20000, 0xbb));
    expected.push(Buffer.concat([Buffer.alloc(3, 0xaa), Buffer.alloc(20000, 0xbb)]));
    writer.send(frame(0xcc, 3), Buffer.alloc(5, 0xdd));
    expected.push(Buffer.concat([Buffer.alloc(3, 0xcc), Buffer.alloc(5, 0xdd)]));
    await new Promise((resolve) => process.nextTick(resolve));
    const wire = Buffer.concat(socket.chunks);
    assert.deepEqual(readWithWs(wire, client), expected, client ? 'client' : 'server');
    if (client) {
      // The mask bit is set, and the key is four zero bytes.
      assert.equal(wire[1]! & 0x80, 0x80);
      assert.deepEqual(wire.subarray(2, 6), Buffer.alloc(4));
    }
  }
});

test('the writer batches a tick: the first frame at once, the rest in one write, a full batch at once', async () => {
  const pool = new BufferPool();
  const socket = recordingSocket();
  const writer = new WsFrameWriter(socket, false, pool, { frames: 4, bytes: 1 << 20 });
  const small = (): Buffer => {
    pool.reserve(10);
    return pool.commit(pool.offset + 10);
  };
  writer.send(small());
  assert.equal(socket.writes, 1, 'the first frame of the tick left at once');
  for (let i = 0; i < 3; i++) writer.send(small());
  assert.equal(socket.writes, 1, 'three more are held');
  writer.send(small());
  assert.equal(socket.writes, 2, 'the fourth made a full batch, which left');
  writer.send(small());
  await new Promise((resolve) => process.nextTick(resolve));
  assert.equal(socket.writes, 3, 'the rest left on nextTick');
  assert.equal(readWithWs(Buffer.concat(socket.chunks), false).length, 6);
  // Each batch copied its frames: the pooled frames are all released.
  const probe = small();
  assert.equal(pool.refsOf(probe), 1);
});

test('ws writes what the reader reads: a client of ws with random masks, and Sender.frame output', () => {
  const { read, events } = reader(true);
  const messages = [Buffer.alloc(0), Buffer.from('abc'), Buffer.alloc(300, 1), Buffer.alloc(70000, 2)];
  for (const data of messages) {
    // ws masks in place: a copy, so `messages` stays as it was.
    const parts = Sender.frame(Buffer.from(data), { fin: true, opcode: 2, mask: true, readOnly: false, rsv1: false });
    read.push(Buffer.concat(parts));
  }
  assert.deepEqual(
    events.map((e) => e[1]),
    messages,
  );
});

test('any bytes at all: the reader never throws, and reports at most one error, after which it reads nothing', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }), (server, chunks) => {
      const { read, events } = reader(server, 4096);
      for (const chunk of chunks) read.push(Buffer.from(chunk));
      const errors = events.filter((e) => e[0] === 'error' || e[0] === 'close');
      assert.ok(errors.length <= 1);
      if (errors.length === 1) assert.equal(events.at(-1), errors[0]);
    }),
    { numRuns: 3000 },
  );
});

test('any messages, masked with any keys and cut anywhere, read back whole and in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 70_000 }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 5 }),
      fc.array(fc.integer({ min: 1, max: 50_000 }), { maxLength: 8 }),
      (messages, cuts) => {
        const wire: Buffer[] = [];
        for (const [data, key, fragments] of messages) {
          // A message in `fragments` frames, each masked with `key`, as a client writes it.
          const size = Math.ceil(data.length / fragments) || 1;
          for (let at = 0, i = 0; i < fragments; i++, at += size) {
            const part = Buffer.from(data.subarray(at, Math.min(data.length, at + size)));
            const mask = Buffer.alloc(4);
            mask.writeUInt32BE(key);
            const frame = Sender.frame(part, { fin: i === fragments - 1, opcode: i === 0 ? 2 : 0, mask: true, readOnly: false, rsv1: false, maskBuffer: mask, generateMask: () => {} });
            wire.push(...frame);
          }
        }
        const bytes = Buffer.concat(wire);
        const { read, events } = reader(true, 1 << 20);
        let at = 0;
        for (const cut of cuts) {
          read.push(bytes.subarray(at, Math.min(bytes.length, at + cut)));
          at = Math.min(bytes.length, at + cut);
        }
        read.push(bytes.subarray(at));
        assert.deepEqual(
          events.map((e) => e[1]),
          messages.map(([data]) => Buffer.from(data)),
        );
      },
    ),
    { numRuns: 200 },
  );
});
