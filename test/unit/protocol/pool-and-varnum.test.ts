import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool, FrameEncoder, readStreamId, readVarnum, varnumLength, writeVarnum } from '../../../src/protocol';
import { ProtocolError } from '../../../src/errors';

// The buffer pool's ownership rule (see the top of src/protocol/buffer-pool.ts) and varnums.

test('a retired slab is not written again while a view holds it, and is reused once released', () => {
  const pool = new BufferPool({ slabSize: 1024, maxPooledFrame: 512 });
  const encoder = new FrameEncoder(pool);
  const first = encoder.response(1, Buffer.alloc(400, 1));
  const copy = Buffer.from(first);
  // Fill the slab and move past it: the first slab retires with `first` still held.
  const second = encoder.response(2, Buffer.alloc(400, 2));
  const third = encoder.response(3, Buffer.alloc(400, 3));
  assert.notEqual(third.buffer, first.buffer, 'the encoder moved to another slab');
  assert.equal(pool.stats.slabsCreated, 2);
  // Many more frames: none may land on the slab `first` lives on.
  const later: Buffer[] = [];
  for (let i = 0; i < 20; i++) later.push(encoder.response(10 + i, Buffer.alloc(400, 9)));
  assert.deepEqual(first, copy, 'the held frame is intact');
  for (const f of later) assert.notEqual(f.buffer, first.buffer);
  // Once every view of the first slab is released it comes back into use.
  pool.release(first);
  pool.release(second);
  for (const f of [third, ...later]) pool.release(f);
  const reusedBefore = pool.stats.slabsReused;
  for (let i = 0; i < 10; i++) pool.release(encoder.response(i, Buffer.alloc(400, 4)));
  assert.ok(pool.stats.slabsReused > reusedBefore, 'released slabs are reused');
});

test('retain adds a reference per extra send; a double release does not free a slab early', () => {
  const pool = new BufferPool({ slabSize: 1024, maxPooledFrame: 512 });
  const encoder = new FrameEncoder(pool);
  const frame = encoder.message('r', 'e', 'x');
  const other = encoder.message('r', 'e', 'y');
  assert.equal(pool.refsOf(frame), 2);
  pool.retain(frame);
  pool.retain(frame);
  assert.equal(pool.refsOf(frame), 4);
  pool.release(frame);
  pool.release(frame);
  pool.release(frame);
  assert.equal(pool.refsOf(other), 1, 'the other view still holds the slab');
  pool.release(frame); // one release too many
  assert.equal(pool.refsOf(other), 0);
  const copy = Buffer.from(other);
  // Retire the slab: it is free now, but `other` was released, so reuse is allowed; a second
  // extra release must not push the count below zero and recycle it twice.
  pool.release(other);
  for (let i = 0; i < 6; i++) pool.release(encoder.response(i, Buffer.alloc(400)));
  assert.ok(copy.length > 0);
  assert.ok(pool.stats.slabsCreated <= 3, `slabs created: ${pool.stats.slabsCreated}`);
});

test('frames larger than the pooled limit get memory of their own', () => {
  const pool = new BufferPool({ slabSize: 1024, maxPooledFrame: 256 });
  const encoder = new FrameEncoder(pool);
  const big = encoder.response(1, Buffer.alloc(1000, 7));
  assert.equal(pool.stats.dedicated, 1);
  assert.equal(pool.refsOf(big), 0, 'not tracked: releasing it is a no-op');
  pool.release(big);
  assert.equal(big[big.length - 1], 7);
});

test('varnums are minimal big-endian and bounded to 7 bytes', () => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [255, 'ff'],
    [256, '0100'],
    [70000, '011170'],
    [2 ** 32, '0100000000'],
    [Number.MAX_SAFE_INTEGER, '1fffffffffffff'],
  ];
  for (const [n, hex] of cases) {
    const len = varnumLength(n);
    assert.equal(len, hex.length / 2, `length of ${n}`);
    const buf = Buffer.alloc(len);
    writeVarnum(buf, 0, n, len);
    assert.equal(buf.toString('hex'), hex);
    assert.equal(readVarnum(buf, 0, len), n);
  }
  // Leading zero bytes are fine for correlation ids.
  assert.equal(readVarnum(Buffer.from('0005', 'hex'), 0, 2), 5);
  for (const len of [0, 8]) {
    assert.throws(() => readVarnum(Buffer.alloc(8), 0, len), (err: unknown) => err instanceof ProtocolError && err.code === 'RT_ERR_VARNUM');
  }
  // Stream ids match by exact bytes: a zero-padded id matches nothing.
  assert.equal(readStreamId(Buffer.from('2e63', 'hex'), 0, 2), 0x2e63);
  assert.equal(readStreamId(Buffer.from('002e63', 'hex'), 0, 3), -1);
});
