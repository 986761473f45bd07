import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRing, RingReader, RingWriter } from '../../../src/transport/threads/frame-ring';

// The frame ring of the I/O threads (src/transport/threads/frame-ring.ts), writer and reader in
// one thread: the order of frames through wrap-around, overflow and a frame larger than the ring.

function harness(bytes: number) {
  const sab = createRing(bytes);
  const posted: Array<{ buf: ArrayBuffer; index: Int32Array }> = [];
  const got: Array<[number, string]> = [];
  const writer = new RingWriter(sab, (buf, index) => posted.push({ buf, index }));
  const reader = new RingReader(sab, (slot, frame) => got.push([slot, frame.toString()]));
  /** The MessagePort's part: overflow batches reach the reader, in order, when it is called. */
  const deliverPosted = (): void => {
    for (const p of posted.splice(0)) reader.overflowed(p.buf, p.index);
  };
  return { writer, reader, posted, got, deliverPosted };
}

const frame = (i: number, size: number): Buffer => Buffer.from(`${i}:`.padEnd(size, String.fromCharCode(97 + (i % 26))));

test('frames go round a small ring many times, in order and intact', () => {
  const { writer, reader, got, posted } = harness(256);
  const sent: Array<[number, string]> = [];
  for (let i = 0; i < 2000; i++) {
    const f = frame(i, 1 + ((i * 37) % 60));
    sent.push([i % 5, f.toString()]);
    writer.add(i % 5, f);
    writer.flush();
    // The reader keeps up: nothing overflows.
    reader.pump();
  }
  assert.equal(posted.length, 0);
  assert.deepEqual(got, sent);
});

test('a frame larger than the ring crosses as an overflow batch, in its place among the others', () => {
  const { writer, reader, got, posted, deliverPosted } = harness(256);
  writer.add(1, frame(1, 10));
  writer.add(1, frame(2, 1000));
  writer.add(1, frame(3, 10));
  writer.flush();
  assert.equal(posted.length, 1);
  // The reader stops at the marker until the batch arrives.
  reader.pump();
  assert.deepEqual(got.map(([, f]) => f.split(':')[0]), ['1']);
  writer.add(1, frame(4, 10));
  writer.flush();
  reader.pump();
  assert.equal(got.length, 1);
  deliverPosted();
  assert.deepEqual(got.map(([, f]) => f.split(':')[0]), ['1', '2', '3', '4']);
  assert.equal(got[1]![1], frame(2, 1000).toString());
});

test('a full ring overflows to the port and fills again once the reader drains it', () => {
  const { writer, reader, got, posted, deliverPosted } = harness(512);
  const sent: string[] = [];
  // The reader is slow: 100 frames of 40 B do not fit in 512 B.
  for (let i = 0; i < 100; i++) {
    const f = frame(i, 40);
    sent.push(f.toString());
    writer.add(0, f);
  }
  writer.flush();
  assert.equal(posted.length, 1);
  assert.ok(writer.pendingBytes === 0);
  deliverPosted();
  assert.deepEqual(got.map(([, f]) => f), sent);
  // Drained: the next frames take the ring again.
  writer.add(0, frame(100, 40));
  writer.flush();
  reader.pump();
  assert.equal(posted.length, 0);
  assert.equal(got.at(-1)![1], frame(100, 40).toString());
});

test('pendingBytes counts what the writer holds until it publishes', () => {
  const { writer, reader } = harness(1024);
  writer.add(0, frame(0, 100));
  assert.equal(writer.pendingBytes, 100);
  writer.flush();
  assert.equal(writer.pendingBytes, 0);
  reader.pump();
});
