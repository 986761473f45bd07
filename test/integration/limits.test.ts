import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidArgumentError,
  Peer,
  type PeerOptions,
} from '../../src';
import { DEFAULT_LIMITS } from '../../src/engine/limits';
import { closeAll } from '../helpers/peers';

// The limits of the options maxPayload, maxPendingHandshakes, maxInFlight and maxStreams: each
// breach is a typed error at the call or the close of that one connection with a reason, and a
// bystander (another unit, or the same unit afterwards) keeps working. Run with and without
// ROLETALK_IO_THREADS.

after(closeAll);

const KiB = 1024;

test('bad limit values throw InvalidArgumentError naming the option; defaults apply', () => {
  const bad: Array<[string, unknown]> = [
    ['maxPayload', 1000],
    ['maxPayload', 2 ** 31],
    ['maxPayload', '1mb'],
    ['maxPayload', 200 * KiB + 0.5],
    ['maxPendingHandshakes', 0],
    ['maxPendingHandshakes', Infinity],
    ['maxInFlight', -1],
    ['maxInFlight', 1.5],
    ['maxStreams', 0],
    ['maxStreams', 65536],
  ];
  for (const [name, value] of bad) {
    assert.throws(
      () => new Peer({ [name]: value } as PeerOptions),
      (err: unknown) => err instanceof InvalidArgumentError && err.argument === name && err.message.includes(name),
      `${name}: ${String(value)}`,
    );
  }
  const peer = new Peer({ ioThreads: 0 });
  assert.deepEqual({ ...peer.engine.limits }, { ...DEFAULT_LIMITS });
  assert.deepEqual(DEFAULT_LIMITS, { maxPayload: 16 * 1024 * KiB, maxPendingHandshakes: 4096, maxInFlight: 65536, maxStreams: 1024 });
  const custom = new Peer({ ioThreads: 0, maxPayload: 128 * KiB, maxPendingHandshakes: 1, maxInFlight: 1, maxStreams: 65535 });
  assert.deepEqual({ ...custom.engine.limits }, { maxPayload: 128 * KiB, maxPendingHandshakes: 1, maxInFlight: 1, maxStreams: 65535 });
});
