import { Peer, type Context } from '../../src';
import { exitWithParent } from '../harness/children';
import { heapAfterGc } from '../harness/stats';
import type { FromTarget, ToTarget } from './messages';

/**
 * The fuzz target: a listening peer with roles that serve requests, messages and streams both
 * ways (the handlers of the vectors' recordings), in a process of its own. It must survive
 * anything the fuzzer sends. An exception that nothing catches is reported to the harness as a
 * crash (and on stderr); the process carries on so that the run can count every one.
 * It has no destinations, so ACQUAINT frames never make it dial the addresses they carry.
 */

exitWithParent();
const send = (msg: FromTarget): void => void process.send!(msg);

for (const kind of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(kind, (err: unknown) => {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.error(`fuzz target ${kind}: ${message}`);
    send({ type: 'crash', kind, message });
  });
}

const peer = new Peer({ name: 'fuzz-target' });
let protocolErrors = 0;
let handlerErrors = 0;
peer.on('protocol_error', () => protocolErrors++);
peer.on('error', () => handlerErrors++);

const svc = peer.role('svc');
peer.role('dormant', false).onRequest('echo', (ctx: Context) => ctx.data);
svc.onRequest('echo', (ctx: Context) => ctx.data);
svc.onRequest('void', () => undefined);
svc.onRequest('fail', () => {
  throw new Error('failed on purpose');
});
svc.onRequest('fail_string', () => {
  throw 'failed as a string';
});
svc.onRequest('fail_object', () => Promise.reject({ why: 'an object' }));
svc.onMessage('note', (ctx: Context) => {
  void ctx.data;
});
svc.onReadable('upload', (ctx: Context) => {
  ctx.readable!.on('error', () => {});
  ctx.readable!.resume();
  return { accepted: true };
});
svc.onReadable('abort', (ctx: Context) => {
  ctx.readable!.on('error', () => {});
  ctx.readable!.once('data', () => ctx.readable!.destroy(new Error('aborted by the target')));
});
svc.onWritable('download', (ctx: Context) => {
  const size = Number(ctx.data);
  ctx.writable!.on('error', () => {});
  ctx.writable!.end(Buffer.alloc(Number.isFinite(size) ? Math.max(0, Math.min(size, 100_000)) : 0, 7));
  return size;
});
svc.onWritable('explode', (ctx: Context) => {
  ctx.writable!.on('error', () => {});
  ctx.writable!.write(Buffer.from('some'));
  setImmediate(() => ctx.writable!.destroy(new Error('exploded')));
});
svc.onReadable('refuse', () => {
  throw new Error('not today');
});
svc.onWritable('refuse_string', () => {
  throw 'not today either';
});

process.on('message', (msg: ToTarget) => {
  if (msg.type === 'stats') {
    const units = peer.units;
    send({
      type: 'stats',
      units: units.length,
      connections: units.reduce((n, u) => n + u.connections.length, 0),
      protocolErrors,
      handlerErrors,
      heap: heapAfterGc(),
    });
  }
});

peer.listen({ port: 0, host: '127.0.0.1' }).then(
  () => send({ type: 'listening', port: peer.port!, heap: heapAfterGc() }),
  (err: Error) => {
    console.error(`fuzz target: listen failed: ${err.message}`);
    process.exit(2);
  },
);
