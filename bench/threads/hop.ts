import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

/**
 * What one hop between the main thread and an I/O thread costs, two ways:
 *  - MessagePort: postMessage with a transferred ArrayBuffer (what ioThreads uses today);
 *  - a SharedArrayBuffer mailbox with an Atomics.waitAsync doorbell on the main thread and
 *    Atomics.wait in the worker.
 * Round trips with one message in flight (latency), and batches of 64 frames of 64 B (the
 * throughput shape under load). Run: node build/bench/threads/hop.js
 */

const ROUNDS = Number(process.env.HOP_ROUNDS ?? 20000);
const FRAME = 64;
const BATCH = 64;

if (isMainThread) {
  void main();
} else if (workerData.mode === 'port') {
  parentPort!.on('message', (buf: ArrayBuffer) => parentPort!.postMessage(buf, [buf]));
} else {
  // The mailbox: [0] doorbell to the worker, [1] doorbell back, then the bytes.
  const flags = new Int32Array(workerData.sab as SharedArrayBuffer, 0, 2);
  const bytes = new Uint8Array(workerData.sab as SharedArrayBuffer, 8);
  for (;;) {
    Atomics.wait(flags, 0, 0);
    Atomics.store(flags, 0, 0);
    if (bytes[0] === 0xff) break;
    bytes[1] = bytes[0]!; // touch the data, as a real consumer would
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
  }
}

async function portRun(batch: number): Promise<number> {
  const worker = new Worker(__filename, { workerData: { mode: 'port' } });
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    const buf = new ArrayBuffer(FRAME * batch);
    const back = new Promise((resolve) => worker.once('message', resolve));
    worker.postMessage(buf, [buf]);
    await back;
  }
  const us = ((performance.now() - start) * 1000) / ROUNDS;
  await worker.terminate();
  return us;
}

async function sabRun(batch: number): Promise<number> {
  const sab = new SharedArrayBuffer(8 + FRAME * BATCH);
  const flags = new Int32Array(sab, 0, 2);
  const bytes = new Uint8Array(sab, 8);
  const worker = new Worker(__filename, { workerData: { mode: 'sab', sab } });
  const frame = new Uint8Array(FRAME * batch).fill(7);
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    bytes.set(frame);
    Atomics.store(flags, 1, 0);
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    const wait = (Atomics as unknown as { waitAsync: (a: Int32Array, i: number, v: number) => { async: boolean; value: Promise<string> | string } }).waitAsync(flags, 1, 0);
    if (wait.async) await wait.value;
  }
  const us = ((performance.now() - start) * 1000) / ROUNDS;
  bytes[0] = 0xff;
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
  await worker.terminate();
  return us;
}

async function main(): Promise<void> {
  console.log(`Node ${process.version}; ${ROUNDS} round trips each (main -> worker -> main)`);
  for (const batch of [1, BATCH]) {
    const port = await portRun(batch);
    const sab = await sabRun(batch);
    console.log(
      `${String(batch).padStart(2)} x ${FRAME} B per hop: MessagePort ${port.toFixed(1)} µs/round trip, SAB + Atomics.waitAsync ${sab.toFixed(1)} µs/round trip (${(port / sab).toFixed(2)}x)`,
    );
  }
}
