import { performance } from 'node:perf_hooks';
import type WebSocket from 'ws';
import type { Destination } from '../../src';
import type { CaseSpec, Row } from './messages';

/**
 * The stream cases: uploads (the client writes), downloads (the client reads what the server
 * writes), both in 64 KiB chunks against a raw ws send loop with the same backpressure, and the
 * bytes a paused roletalk reader ends up holding.
 */

/** The raw ws loops pause while more than this is queued on the socket (as the messages case). */
export const WS_BACKPRESSURE = 1 << 20;
/** Raw ws duty bytes (server.ts): a download request carries the byte count, in decimal. */
export const WS_DOWNLOAD = 7;
const WS_CHUNK = 4;

/** What the paused-reader case reads before it stops, and how long it then waits for arrivals to stop. */
const PAUSE_AFTER = 8 << 20;
const SETTLE_MS = 300;

/** The stream cases of one implementation (Moleculer has no streams). */
export function streamCases(quick: boolean, impl: Row['impl']): CaseSpec[] {
  if (impl === 'moleculer') return [];
  const bytes = quick ? 32 << 20 : 128 << 20;
  const cases: CaseSpec[] = [
    { name: 'stream', connections: 1, window: 1, payload: 65536, bytes },
    { name: 'stream-down', connections: 1, window: 1, payload: 65536, bytes },
  ];
  if (impl === 'roletalk') cases.push({ name: 'stream-paused', connections: 1, window: 1, payload: 65536 });
  return cases;
}

/** A stream case's row fields: MB/s of the timed run (after a shorter warm-up), or held bytes. */
export async function runStreamCase(
  spec: CaseSpec,
  driver: { stream(bytes: number): Promise<void>; download(bytes: number): Promise<void>; pausedHeld(): Promise<number> },
): Promise<Partial<Row>> {
  if (spec.name === 'stream-paused') return { heldBytes: await driver.pausedHeld(), samples: 1, seconds: 0 };
  const move = spec.name === 'stream' ? (n: number) => driver.stream(n) : (n: number) => driver.download(n);
  const bytes = spec.bytes ?? 64 << 20;
  await move(Math.min(bytes, 8 << 20));
  const start = performance.now();
  await move(bytes);
  const elapsed = (performance.now() - start) / 1000;
  return { mbPerSec: Math.round((bytes / elapsed / 1e6) * 10) / 10, samples: bytes, seconds: elapsed };
}

function countTo(bytes: number, count: (add: (n: number) => void) => void): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    if (bytes === 0) resolve();
    count((n) => {
      if ((got += n) >= bytes) resolve();
    });
  });
}

/** roletalk: download `bytes` from the server's `download` writable. */
export async function roletalkDownload(dest: Destination, bytes: number): Promise<void> {
  const readable = dest.Readable('download', bytes);
  let got = 0;
  for await (const chunk of readable as AsyncIterable<Buffer>) got += chunk.length;
  if (got !== bytes) throw new Error(`download lost data: ${got} of ${bytes}`);
}

/**
 * roletalk: reads a big download for a while, then stops. Once nothing arrives any more, what
 * the reader holds is everything the writer sent and nobody read, in flight included.
 */
export async function roletalkPausedHeld(dest: Destination): Promise<number> {
  const readable = dest.Readable('download', 1 << 30);
  await countTo(PAUSE_AFTER, (add) => readable.on('data', (c: Buffer) => add(c.length)));
  readable.pause();
  readable.removeAllListeners('data');
  let held = -1;
  while (held !== readable.readableLength) {
    held = readable.readableLength;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
  readable.destroy();
  return held;
}

/** Raw ws: the server sends `bytes` in 64 KiB messages with the same backpressure loop. */
export async function wsDownload(ws: WebSocket, bytes: number): Promise<void> {
  let listener!: (data: Buffer) => void;
  const done = countTo(bytes, (add) => ws.on('message', (listener = (data: Buffer) => data[0] === WS_CHUNK && add(data.length - 1))));
  ws.send(Buffer.from(`${String.fromCharCode(WS_DOWNLOAD)}${bytes}`, 'latin1'));
  await done;
  ws.off('message', listener);
}

/** Raw ws server side of a download: `bytes` in 64 KiB messages, waiting while the socket is full. */
export async function wsServeDownload(ws: WebSocket, request: Buffer, chunk: Buffer): Promise<void> {
  const bytes = Number(request.toString('latin1', 1));
  const frame = Buffer.concat([Buffer.from([WS_CHUNK]), chunk]);
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    const n = Math.min(chunk.length, bytes - sent);
    ws.send(n === chunk.length ? frame : frame.subarray(0, n + 1));
    while (ws.bufferedAmount > WS_BACKPRESSURE) await new Promise((r) => setImmediate(r));
  }
}
