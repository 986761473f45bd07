import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';

/**
 * What bufferutil and utf-8-validate do for ws here. A ws server and a ws client in separate
 * processes on 127.0.0.1; the client sends binary messages of one size for a fixed time and the
 * server reports what arrived. Run once with the native helpers and once with
 * WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1, plus mask/unmask micro timings:
 *   node build/bench/native/ws-native.js
 */

const SIZES = [64, 4096, 65536, 1 << 20];
const SECONDS = Number(process.env.NATIVE_SECONDS ?? 1);

function server(): void {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false }, () => {
    process.send!((wss.address() as { port: number }).port);
  });
  wss.on('connection', (ws) => {
    let messages = 0;
    let bytes = 0;
    ws.on('message', (data: Buffer) => {
      if (data.length === 1 && data[0] === 0) {
        ws.send(JSON.stringify({ messages, bytes }));
        messages = 0;
        bytes = 0;
        return;
      }
      messages++;
      bytes += data.length;
    });
  });
}

async function client(port: number): Promise<Array<{ size: number; perSec: number; mbPerSec: number }>> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  await new Promise((resolve) => ws.once('open', resolve));
  const rows = [];
  for (const size of SIZES) {
    const payload = Buffer.alloc(size, 1);
    const start = performance.now();
    const end = start + SECONDS * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < 64; i++) ws.send(payload);
      while (ws.bufferedAmount > 4 << 20) await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    }
    const report = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
    ws.send(Buffer.from([0]));
    const { messages, bytes } = JSON.parse(await report) as { messages: number; bytes: number };
    const seconds = (performance.now() - start) / 1000;
    rows.push({ size, perSec: Math.round(messages / seconds), mbPerSec: Math.round(bytes / seconds / 1e5) / 10 });
  }
  ws.close();
  return rows;
}

function maskTimings(): Array<{ size: number; nativeNs: number; jsNs: number }> {
  const native = require('bufferutil') as { mask: Function; unmask: Function };
  const js = require('bufferutil/fallback') as { mask: Function; unmask: Function };
  const mask = Buffer.from([1, 2, 3, 4]);
  return SIZES.map((size) => {
    const source = Buffer.alloc(size, 7);
    const target = Buffer.alloc(size);
    const rounds = Math.max(20, Math.floor(2e8 / (size * 50)));
    const time = (impl: { mask: Function }): number => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < rounds; i++) impl.mask(source, mask, target, 0, size);
      return Number(process.hrtime.bigint() - t) / rounds;
    };
    time(native);
    time(js);
    return { size, nativeNs: Math.round(time(native)), jsNs: Math.round(time(js)) };
  });
}

async function main(): Promise<void> {
  if (process.argv[2] === 'server') return server();
  if (process.argv[2] === 'client') {
    const rows = await client(Number(process.argv[3]));
    process.send!(rows);
    return;
  }
  const results: Record<string, unknown> = {};
  for (const [label, env] of [
    ['with bufferutil and utf-8-validate', {}],
    ['WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1', { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' }],
  ] as const) {
    const srv = fork(__filename, ['server'], { env: { ...process.env, ...env } });
    const port = await new Promise<number>((resolve) => srv.once('message', resolve));
    const cli = fork(__filename, ['client', String(port)], { env: { ...process.env, ...env } });
    results[label] = await new Promise((resolve) => cli.once('message', resolve));
    srv.kill();
  }
  console.log(`Node ${process.version}; client -> server binary messages for ${SECONDS} s per size`);
  for (const [label, rows] of Object.entries(results)) {
    console.log(`\n${label}`);
    for (const r of rows as Array<{ size: number; perSec: number; mbPerSec: number }>) {
      console.log(`  ${String(r.size).padStart(7)} B: ${r.perSec.toLocaleString('en-US').padStart(9)} msg/s ${String(r.mbPerSec).padStart(8)} MB/s`);
    }
  }
  console.log('\nmask (client side) per call, native bufferutil vs the JS fallback');
  for (const r of maskTimings()) console.log(`  ${String(r.size).padStart(7)} B: native ${r.nativeNs} ns, js ${r.jsNs} ns (${(r.jsNs / r.nativeNs).toFixed(1)}x)`);
}

void main();
