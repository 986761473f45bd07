import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { Peer } from '../../src';
import { Handshake } from '../../src/protocol/handshake';
import { Extension, PROTOCOL_VERSION } from '../../src/protocol/constants';
import { resolveLimits } from '../../src/engine/limits';
import { memoryAfterGc, type FromClient, type ScaleImpl, type ToClient } from './messages';

/**
 * The client process of the scale group. `open` dials N idle connections: bare ws sockets, for
 * roletalk each one a unit of its own that completes the keyless handshake (a full Peer per
 * connection would cost this process far more than the server we measure). `requests` runs one
 * full Peer against the server and pauses at checkpoints for heap samples.
 */

const send = (message: FromClient): void => {
  process.send!(message);
};

/** Dials at most this many at once, so that the server's accept backlog never overflows. */
const DIAL_CONCURRENCY = 64;
const sockets: WebSocket[] = [];

function confirmation(): object {
  return {
    id: randomBytes(16).toString('hex'),
    roles: [],
    friendly: false,
    name: 'scale-client',
    meta: { os: process.platform, runtime: 'scale-bench', time: Date.now(), uptime: 0, protocol: PROTOCOL_VERSION },
    tags: {},
    // What a Peer of this library offers: the server then tracks this unit's requests as it would.
    ext: { [Extension.RESEND]: 1, [Extension.CANCEL]: 1, [Extension.DEADLINE]: 1, [Extension.MAX_PAYLOAD]: resolveLimits({}).maxPayload },
  };
}

/** One idle connection: open for ws, open and confirmed for roletalk. */
function dial(impl: ScaleImpl, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(address, { perMessageDeflate: false });
    sockets.push(ws);
    ws.once('error', reject);
    ws.once('open', () => {
      if (impl === 'ws') return resolve();
      const handshake = new Handshake({ keys: new Map(), confirmation, challenge: () => '', equal: () => false });
      const act = (actions: ReturnType<Handshake['start']>): void => {
        for (const action of actions) {
          if (action.kind === 'send') ws.send(action.frame, { binary: true });
          else if (action.kind === 'success') resolve();
          else if (action.kind === 'fail') reject(action.error);
        }
      };
      // Frames after the handshake (ROLES rounds) are not this bench's business.
      ws.on('message', (data: Buffer) => {
        if (!handshake.done) act(handshake.receive(data));
      });
      act(handshake.start());
    });
  });
}

async function open(impl: ScaleImpl, address: string, count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      await dial(impl, address);
    }
  };
  await Promise.all(Array.from({ length: DIAL_CONCURRENCY }, worker));
  send({ kind: 'opened', count: sockets.length });
}

let resume: (() => void) | null = null;

async function requests(address: string, warmup: number, checkpoints: number[], window: number): Promise<void> {
  const peer = new Peer({ name: 'scale-caller' });
  const { unit } = await peer.connect(address);
  const payload = Buffer.alloc(64, 0x5a);
  let done = 0;
  let busy = 0;
  // Each leg sends in a pipeline of `window` requests up to `until`, then waits for them all.
  const run = async (until: number): Promise<void> => {
    const lane = async (): Promise<void> => {
      while (done < until) {
        done++;
        await unit.request('scale', 'echo', payload);
      }
    };
    await Promise.all(Array.from({ length: window }, lane));
  };
  for (const stop of [warmup, ...checkpoints]) {
    const started = performance.now();
    await run(stop);
    if (stop > warmup) busy += performance.now() - started;
    send({ kind: 'checkpoint', done: stop, heapUsed: (await memoryAfterGc()).heapUsed });
    await new Promise<void>((r) => (resume = r));
  }
  send({ kind: 'finished', seconds: busy / 1000 });
  await peer.close();
}

process.on('message', (task: ToClient) => {
  const fail = (err: Error): void => send({ kind: 'error', message: err.message });
  if (task.kind === 'open') open(task.impl, task.address, task.count).catch(fail);
  else if (task.kind === 'requests') requests(task.address, task.warmup, task.checkpoints, task.window).catch(fail);
  else resume?.();
});
process.on('disconnect', () => process.exit(0));
