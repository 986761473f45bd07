import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import WebSocket from 'ws';
import { Peer, type Destination } from '../../src';
import type { CaseSpec, ClientTask, Impl, Row } from './messages';
import { partialDriver, type Driver } from './driver';
import * as net from './baselines/net';
import * as grpc from './baselines/grpc';
import * as nats from './baselines/nats';
import { roletalkDownload, roletalkPausedHeld, runStreamCase, wsDownload, WS_BACKPRESSURE } from './streams';
import { setTracing } from './tracing';

/**
 * A bench client process: connects to the servers it is given and runs cases against them,
 * sending back one Row per case. Throughput is completions over wall time with a fixed window
 * of operations in flight; latency comes from a perf_hooks histogram of single requests.
 */

async function roletalkDriver(
  addresses: string[],
  connections: number,
  ioThreads: number,
  writeBatch?: number,
  balance?: CaseSpec['balance'],
): Promise<Driver> {
  const peer = new Peer({
    name: 'bench-client',
    ...(ioThreads > 0 ? { ioThreads } : {}),
    ...(writeBatch ? { writeBatch: { frames: writeBatch } } : {}),
  } as never);
  const dest: Destination = peer.destination('bench', balance ? { balance } : undefined);
  let uploaded: ((bytes: number) => void) | null = null;
  peer.role('bench-client').onMessage('uploaded', (ctx) => uploaded?.(ctx.data as number));
  for (const address of addresses) for (let c = 0; c < connections; c++) await peer.connect(address);
  while (dest.units.length < addresses.length) await new Promise((r) => setTimeout(r, 10));
  return {
    units: dest.units.length,
    request: (payload) => dest.request('echo', payload),
    burn: (micros) => dest.request('burn', micros),
    delayed: async (ms) => (await dest.request('delayed', ms)).unit.name,
    async tracing(on) {
      setTracing(on);
      for (const unit of dest.units) await dest.request({ event: 'tracing', unit }, on);
    },
    async messages(payload, count) {
      const unit = dest.units[0]!;
      for (let i = 0; i < count; i++) {
        dest.send('sink', payload);
        // Let the socket drain: a sender that outruns the network only measures its own memory.
        if ((i & 255) === 0) while (unit.connections.some((c) => c.bufferedAmount > 1 << 20)) await new Promise((r) => setImmediate(r));
      }
    },
    async delivered() {
      let got = 0;
      for (const u of dest.units) got += (await dest.request({ event: 'count', unit: u }, null)).data as number;
      return got;
    },
    async broadcast(payload, count) {
      for (let i = 0; i < count; i++) {
        dest.broadcast('sink', payload);
        if ((i & 255) === 0) {
          while (dest.units.some((u) => u.connections.some((c) => c.bufferedAmount > 1 << 20))) await new Promise((r) => setImmediate(r));
        }
      }
    },
    async survey(payload) {
      const answers = await dest.surveyAll('echo', payload);
      return answers.filter((a) => a.ctx !== undefined).length;
    },
    async stream(bytes) {
      const done = new Promise<number>((resolve) => (uploaded = resolve));
      const w = dest.Writable('upload', null);
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (let sent = 0; sent < bytes; sent += chunk.length) {
        if (!w.write(chunk)) await new Promise((r) => w.once('drain', r));
      }
      w.end();
      const got = await done;
      if (got < bytes) throw new Error(`stream lost data: ${got} < ${bytes}`);
    },
    download: (bytes) => roletalkDownload(dest, bytes),
    pausedHeld: () => roletalkPausedHeld(dest),
    close: () => peer.close(),
  };
}

/** Raw ws: the same duties, framed by one leading byte (see server.ts). */
async function wsDriver(addresses: string[], connections: number): Promise<Driver> {
  const sockets: WebSocket[] = [];
  const waiting: Array<Array<(data: Buffer) => void>> = [];
  for (const address of addresses) {
    for (let c = 0; c < connections; c++) {
      const ws = new WebSocket(address, { perMessageDeflate: false });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const queue: Array<(data: Buffer) => void> = [];
      // Replies on one socket come in order: answer the oldest waiter.
      ws.on('message', (data: Buffer) => queue.shift()?.(data));
      sockets.push(ws);
      waiting.push(queue);
    }
  }
  let rr = 0;
  const perAddress = connections;
  const call = (index: number, frame: Buffer): Promise<Buffer> =>
    new Promise((resolve) => {
      waiting[index]!.push(resolve);
      sockets[index]!.send(frame);
    });
  const withType = (type: number, payload: Buffer): Buffer => {
    const frame = Buffer.allocUnsafe(payload.length + 1);
    frame[0] = type;
    payload.copy(frame, 1);
    return frame;
  };
  const drain = async (ws: WebSocket): Promise<void> => {
    while (ws.bufferedAmount > WS_BACKPRESSURE) await new Promise((r) => setImmediate(r));
  };
  return {
    units: addresses.length,
    // A naive loop does what a user of raw ws would: one message per send, no coalescing.
    request: (payload) => call(rr++ % sockets.length, withType(1, payload)),
    delayed: () => Promise.reject(new Error('not measured for raw ws')),
    tracing: () => Promise.reject(new Error('not measured for raw ws')),
    burn: (micros) => {
      const frame = Buffer.alloc(5);
      frame[0] = 6;
      frame.writeUInt32BE(micros, 1);
      return call(rr++ % sockets.length, frame);
    },
    async messages(payload, count) {
      const frame = withType(2, payload);
      for (let i = 0; i < count; i++) {
        const ws = sockets[(rr++ % perAddress)]!;
        ws.send(frame);
        if ((i & 255) === 0) await drain(ws);
      }
    },
    async delivered() {
      let got = 0;
      for (let i = 0; i < sockets.length; i++) got += Number((await call(i, Buffer.from([3]))).toString('latin1', 1));
      return got;
    },
    async broadcast(payload, count) {
      const frame = withType(2, payload);
      for (let i = 0; i < count; i++) {
        for (let a = 0; a < addresses.length; a++) sockets[a * perAddress]!.send(frame);
        if ((i & 255) === 0) for (const ws of sockets) await drain(ws);
      }
    },
    async survey(payload) {
      const frame = withType(1, payload);
      const answers = await Promise.all(addresses.map((_, a) => call(a * perAddress, frame)));
      return answers.length;
    },
    async stream(bytes) {
      const ws = sockets[0]!;
      const chunk = withType(4, Buffer.alloc(64 * 1024, 1));
      for (let sent = 0; sent < bytes; sent += chunk.length - 1) {
        ws.send(chunk);
        await drain(ws);
      }
      const got = Number((await call(0, Buffer.from([5]))).toString('latin1', 1));
      if (got < bytes) throw new Error(`stream lost data: ${got} < ${bytes}`);
    },
    download: (bytes) => wsDownload(sockets[0]!, bytes),
    pausedHeld: () => Promise.reject(new Error('not measured for raw ws')),
    async close() {
      for (const ws of sockets) ws.terminate();
    },
  };
}

async function moleculerDriver(addresses: string[]): Promise<Driver> {
  const { ServiceBroker } = require('moleculer') as typeof import('moleculer');
  const broker = new ServiceBroker({
    nodeID: `bench-client-${process.pid}`,
    logger: false,
    transporter: { type: 'TCP', options: { udpDiscovery: false, urls: addresses } } as never,
  });
  await broker.start();
  await broker.waitForServices(['bench'], 10000);
  return partialDriver('Moleculer', {
    units: addresses.length,
    request: (payload) => broker.call('bench.echo', { data: payload.toString('latin1') }),
    burn: (micros) => broker.call('bench.burn', { micros }),
    close: () => broker.stop(),
  });
}

/** The handshake storm makes its own connections: no driver. */
const noDriver = partialDriver('the handshake storm', { close: async () => {} });

function micros(ns: number): number {
  return Math.round(ns / 10) / 100;
}

/** A latency histogram's figures for a row, in µs. */
function latencyFields(h: RecordableHistogram): Pick<Row, 'p50' | 'p99' | 'p999' | 'mean'> {
  return { p50: micros(h.percentile(50)), p99: micros(h.percentile(99)), p999: micros(h.percentile(99.9)), mean: micros(h.mean) };
}

/** Runs `op` with `window` in flight for `seconds`; returns completions per second. */
async function saturate(window: number, seconds: number, op: () => Promise<unknown>): Promise<{ ops: number; elapsed: number }> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await op();
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: window }, lane));
  const elapsed = (performance.now() - start) / 1000;
  return { ops: done / elapsed, elapsed };
}

function baseRow(driver: Driver, task: ClientTask, spec: CaseSpec): Row {
  return {
    suite: 'e2e',
    case: spec.name,
    impl: task.impl,
    connections: spec.connections,
    window: spec.window,
    payload: spec.payload,
    units: driver.units,
    ioThreads: task.serverIoThreads ?? task.ioThreads,
    ...(task.serverIoThreads !== undefined ? { group: 'threads' as const } : {}),
    ...(task.key !== undefined ? { group: 'auth' as const, authThreads: task.serverAuthThreads ?? 0, busyPercent: task.serverBusyPercent ?? 0 } : {}),
    ...(task.writeBatch ? { writeBatch: task.writeBatch } : {}),
    ...(spec.balance !== undefined ? { group: 'balance' as const, balance: spec.balance } : {}),
    ...(task.transport !== undefined ? { group: 'transport' as const, transport: task.transport } : {}),
    ...(task.group === 'streams' ? { group: 'streams' as const } : {}),
    ...(task.round !== undefined ? { round: task.round } : {}),
    samples: 0,
    seconds: 0,
  };
}

/**
 * An rtt or throughput case without and with tracing subscribers (in this process and the
 * servers'), in short slices ordered off, on, on, off, ... so that load coming and going on the
 * machine falls on both settings alike. Returns the row of each setting.
 */
async function runTracingCase(driver: Driver, task: ClientTask, spec: CaseSpec): Promise<Row[]> {
  const payload = Buffer.alloc(spec.payload, 0x61);
  const base: Row = { ...baseRow(driver, task, spec), group: 'tracing' };
  const on = (slice: number): boolean => slice % 4 === 1 || slice % 4 === 2;
  const op = (): Promise<unknown> => driver.request(payload);
  const time = [0, 0];
  let rows: Row[];
  if (spec.name === 'rtt') {
    const block = 100;
    const slices = Math.max(4, Math.ceil((spec.count ?? 2000) / block / 2) * 4);
    for (const setting of [false, true]) {
      await driver.tracing(setting);
      for (let i = 0; i < 1000; i++) await op();
    }
    const histograms = [createHistogram(), createHistogram()];
    for (let s = 0; s < slices; s++) {
      const k = +on(s);
      await driver.tracing(on(s));
      const start = performance.now();
      for (let i = 0; i < block; i++) {
        const t = process.hrtime.bigint();
        await op();
        histograms[k]!.record(process.hrtime.bigint() - t);
      }
      time[k] += performance.now() - start;
    }
    rows = histograms.map((h, k) => ({
      ...base,
      tracing: k === 1,
      ...latencyFields(h),
      samples: h.count,
      seconds: time[k]! / 1000,
      slices: slices / 2,
    }));
  } else if (spec.name === 'throughput') {
    const slice = 0.1;
    const slices = Math.max(4, Math.round((spec.seconds ?? 2) / slice / 2) * 4);
    for (const setting of [false, true]) {
      await driver.tracing(setting);
      await saturate(spec.window, 0.15, op);
    }
    const done = [0, 0];
    for (let s = 0; s < slices; s++) {
      const k = +on(s);
      await driver.tracing(on(s));
      const { ops, elapsed } = await saturate(spec.window, slice, op);
      done[k] += ops * elapsed;
      time[k] += elapsed;
    }
    rows = done.map((n, k) => ({
      ...base,
      tracing: k === 1,
      opsPerSec: Math.round(n / time[k]!),
      samples: Math.round(n),
      seconds: time[k]!,
      slices: slices / 2,
    }));
  } else {
    throw new Error(`tracing is measured on rtt and throughput cases, not ${spec.name}`);
  }
  await driver.tracing(false);
  return rows;
}

async function runCase(driver: Driver, task: ClientTask, spec: CaseSpec): Promise<Row> {
  const payload = Buffer.alloc(spec.payload, 0x61);
  const base = baseRow(driver, task, spec);
  switch (spec.name) {
    case 'rtt': {
      const count = spec.count ?? 2000;
      // Warm up: JIT, socket buffers.
      for (let i = 0; i < 2000; i++) await driver.request(payload);
      const histogram = createHistogram();
      const start = performance.now();
      for (let i = 0; i < count; i++) {
        const t = process.hrtime.bigint();
        await driver.request(payload);
        histogram.record(process.hrtime.bigint() - t);
      }
      return {
        ...base,
        ...latencyFields(histogram),
        samples: count,
        seconds: (performance.now() - start) / 1000,
      };
    }
    case 'throughput':
    case 'burn': {
      const seconds = spec.seconds ?? 2;
      const op = spec.name === 'burn' ? () => driver.burn(spec.burnMicros ?? 50) : () => driver.request(payload);
      await saturate(spec.window, Math.min(0.3, seconds), op);
      const { ops, elapsed } = await saturate(spec.window, seconds, op);
      return { ...base, opsPerSec: Math.round(ops), samples: Math.round(ops * elapsed), seconds: elapsed };
    }
    case 'messages':
    case 'broadcast': {
      const count = spec.count ?? 100000;
      const start = performance.now();
      if (spec.name === 'messages') await driver.messages(payload, count);
      else await driver.broadcast(payload, count);
      // Messages over several connections arrive in no common order: ask until all are in.
      const expected = spec.name === 'messages' ? count : count * driver.units;
      let got = 0;
      const giveUp = performance.now() + 10_000;
      while ((got += await driver.delivered()) < expected && performance.now() < giveUp) await new Promise((r) => setTimeout(r, 1));
      const elapsed = (performance.now() - start) / 1000;
      if (got !== expected) throw new Error(`${spec.name}: ${got} of ${expected} arrived`);
      return { ...base, opsPerSec: Math.round(got / elapsed), samples: got, seconds: elapsed };
    }
    case 'handshakes': {
      // A storm of keyed handshakes: `count` connections opened at once by a fresh peer.
      const count = spec.count ?? 1000;
      const peer = new Peer({ name: 'storm' }).addPresharedKey('bench', task.key ?? 'bench');
      const start = performance.now();
      const results = await Promise.allSettled(
        Array.from({ length: count }, () => peer.connect(task.addresses[0]!, { permanent: false })),
      );
      const elapsed = (performance.now() - start) / 1000;
      await peer.close();
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      if (ok !== count) throw new Error(`handshakes: ${ok} of ${count} succeeded`);
      return { ...base, opsPerSec: Math.round(count / elapsed), samples: count, seconds: elapsed };
    }
    case 'balance': {
      // A fixed window of `delayed` requests for `seconds`, after a short warm-up; every
      // request's time goes to the histogram, and the slow unit's answers are counted.
      const seconds = spec.seconds ?? 2;
      const delay = spec.delayMs ?? 1;
      await saturate(spec.window, Math.min(0.3, seconds), () => driver.delayed(delay));
      const histogram = createHistogram();
      let slow = 0;
      const { ops, elapsed } = await saturate(spec.window, seconds, async () => {
        const t = process.hrtime.bigint();
        const unit = await driver.delayed(delay);
        histogram.record(process.hrtime.bigint() - t);
        if (unit === spec.slowUnit) slow++;
      });
      const samples = histogram.count;
      return {
        ...base,
        ...latencyFields(histogram),
        opsPerSec: Math.round(ops),
        slowShare: samples ? Math.round((slow / samples) * 10000) / 10000 : 0,
        samples,
        seconds: elapsed,
      };
    }
    case 'survey': {
      const seconds = spec.seconds ?? 2;
      const { ops, elapsed } = await saturate(spec.window, seconds, () => driver.survey(payload));
      return { ...base, opsPerSec: Math.round(ops), samples: Math.round(ops * elapsed), seconds: elapsed };
    }
    case 'stream':
    case 'stream-down':
    case 'stream-paused':
      return { ...base, ...(await runStreamCase(spec, driver)) };
  }
}

function connect(task: ClientTask, connections: number, balance: CaseSpec['balance']): Promise<Driver> {
  const impl: Impl = task.impl;
  switch (impl) {
    case 'roletalk':
      return roletalkDriver(task.addresses, connections, task.ioThreads, task.writeBatch, balance);
    case 'ws':
      return wsDriver(task.addresses, connections);
    case 'moleculer':
      return moleculerDriver(task.addresses);
    case 'net':
      return net.connect(task.addresses, connections);
    case 'grpc':
      return grpc.connect(task.addresses, connections);
    case 'nats':
      return nats.connect(task.addresses, connections);
  }
}

async function run(task: ClientTask): Promise<Row[]> {
  const rows: Row[] = [];
  // Cases are grouped by connection count (and balancing strategy, which a destination takes
  // when it is made) so one driver serves each group.
  const groups = new Map<string, CaseSpec[]>();
  for (const spec of task.cases) {
    const id = `${spec.connections}|${spec.balance ?? ''}`;
    const list = groups.get(id) ?? [];
    list.push(spec);
    groups.set(id, list);
  }
  for (const specs of groups.values()) {
    const { connections, balance } = specs[0]!;
    // The handshake storm makes its own connections; a keyed server would refuse a driver's.
    const driver = task.key !== undefined ? noDriver : await connect(task, connections, balance);
    for (const spec of specs) {
      for (const row of spec.alternateTracing ? await runTracingCase(driver, task, spec) : [await runCase(driver, task, spec)]) {
        rows.push(row);
        process.send?.({ kind: 'progress', row });
      }
    }
    await driver.close();
  }
  return rows;
}

process.on('message', (task: ClientTask) => {
  if (task.kind !== 'run') return;
  run(task).then(
    (rows) => {
      process.send!({ kind: 'done', rows }, () => process.exit(0));
    },
    (err: Error) => {
      process.send!({ kind: 'error', message: err.stack ?? err.message }, () => process.exit(1));
    },
  );
});
