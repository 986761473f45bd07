import { WebSocketServer } from 'ws';
import { Peer } from '../../src';
import type { Impl, ServerOptions, ServerReady } from './messages';
import { WS_DOWNLOAD, wsServeDownload } from './streams';
import { setTracing } from './tracing';
import { freePort } from './processes';
import * as net from './baselines/net';
import * as grpc from './baselines/grpc';
import * as nats from './baselines/nats';

/**
 * A bench server process: roletalk peers serving the `bench` role, a raw `ws` echo server with
 * the same duties, a Moleculer node, or a request-only baseline (baselines/: raw net, gRPC-js,
 * NATS). Runs until its parent disconnects or it is killed.
 *
 * Duties: `echo` request (replies with what it got), `burn` request (spins for N µs first),
 * `sink` message (counted; `count` request returns and resets the count), `upload` readable
 * (consumes and reports bytes), `download` writable (writes N bytes in 64 KiB chunks), `delayed`
 * request (answers null after a timer of N ms; `slowPeer.factor` times N on the peer at
 * `slowPeer.index`), `tracing` request (true: no-op subscribers to every roletalk diagnostics
 * channel in this process; false: none).
 */

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);

function burn(micros: number): void {
  const end = process.hrtime.bigint() + BigInt(micros) * 1000n;
  while (process.hrtime.bigint() < end);
}

async function roletalk(options: ServerOptions): Promise<string[]> {
  const addresses: string[] = [];
  for (let i = 0; i < options.peers; i++) {
    const peer = new Peer({
      name: `bench-${i}`,
      ...(options.ioThreads > 0 ? { ioThreads: options.ioThreads } : {}),
      ...(options.writeBatch ? { writeBatch: { frames: options.writeBatch } } : {}),
      ...(options.authThreads ? { authThreads: options.authThreads } : {}),
    } as never);
    if (options.key) peer.addPresharedKey('bench', options.key);
    let sunk = 0;
    const role = peer.role('bench');
    role.onRequest('echo', (ctx) => ctx.data);
    const delayFactor = options.slowPeer?.index === i ? options.slowPeer.factor : 1;
    role.onRequest('delayed', (ctx) => new Promise((resolve) => setTimeout(resolve, (ctx.data as number) * delayFactor, null)));
    role.onRequest('tracing', (ctx) => {
      setTracing(ctx.data === true);
      return null;
    });
    role.onRequest('burn', (ctx) => {
      burn(ctx.data as number);
      return null;
    });
    role.onMessage('sink', () => {
      sunk++;
    });
    role.onRequest('count', () => {
      const n = sunk;
      sunk = 0;
      return n;
    });
    role.onReadable('upload', (ctx) => {
      let bytes = 0;
      ctx.readable!.on('data', (c: Buffer) => (bytes += c.length));
      ctx.readable!.on('end', () => ctx.unit.send('bench-client', 'uploaded', bytes));
      return 'ok';
    });
    role.onWritable('download', (ctx) => {
      const total = ctx.data as number;
      const w = ctx.writable!;
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          const n = Math.min(CHUNK.length, total - sent);
          sent += n;
          if (!w.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
            w.once('drain', pump);
            return;
          }
        }
        w.end();
      };
      pump();
      return total;
    });
    if (i === 0 && options.socketPath !== undefined) {
      await peer.listen({ socketPath: options.socketPath });
      addresses.push(`ws+unix:${options.socketPath}`);
      continue;
    }
    await peer.listen({ port: i === 0 ? options.port : 0, host: '127.0.0.1' });
    addresses.push(`ws://127.0.0.1:${peer.port}`);
  }
  return addresses;
}

/** The raw ws baseline: echo every binary message; byte 0 of the message selects the duty. */
async function rawWs(options: ServerOptions): Promise<string[]> {
  const addresses: string[] = [];
  for (let i = 0; i < options.peers; i++) {
    const wss = new WebSocketServer({ port: i === 0 ? options.port : 0, host: '127.0.0.1', perMessageDeflate: false });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (ws) => {
      let sunk = 0;
      let streamed = 0;
      ws.on('message', (data: Buffer) => {
        switch (data[0]) {
          case 1: // echo
            ws.send(data);
            return;
          case 2: // sink
            sunk++;
            return;
          case 3: // count
            ws.send(Buffer.from(`\x03${sunk}`));
            sunk = 0;
            return;
          case 4: // stream chunk
            streamed += data.length - 1;
            return;
          case 5: // stream end
            ws.send(Buffer.from(`\x05${streamed}`));
            streamed = 0;
            return;
          case 6: // burn, then echo
            burn(data.readUInt32BE(1));
            ws.send(data);
            return;
          case WS_DOWNLOAD:
            void wsServeDownload(ws, data, CHUNK);
            return;
        }
      });
    });
    addresses.push(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  }
  return addresses;
}

async function moleculer(options: ServerOptions): Promise<string[]> {
  // Loaded only here: Moleculer is a dev dependency of the bench, never of the library.
  const { ServiceBroker } = require('moleculer') as typeof import('moleculer');
  const port = options.port || (await freePort());
  const broker = new ServiceBroker({
    nodeID: 'bench-server',
    logger: false,
    transporter: { type: 'TCP', options: { udpDiscovery: false, port } } as never,
  });
  broker.createService({
    name: 'bench',
    actions: {
      echo: (ctx: { params: unknown }) => ctx.params,
      burn: (ctx: { params: { micros: number } }) => {
        burn(ctx.params.micros);
        return null;
      },
    },
  });
  await broker.start();
  return [`127.0.0.1:${port}/bench-server`];
}

/** Keeps the main thread busy `percent` of the time, in 10 ms slices. */
function keepBusy(percent: number): void {
  if (percent <= 0) return;
  const slice = 10;
  setInterval(() => burn(slice * percent * 10), slice).unref();
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as ServerOptions;
  keepBusy(options.busyPercent ?? 0);
  const serve: Record<Impl, (options: ServerOptions) => Promise<string[]>> = {
    roletalk,
    ws: rawWs,
    moleculer,
    net: net.serve,
    grpc: grpc.serve,
    nats: nats.serve,
  };
  const addresses = await serve[options.impl ?? 'roletalk'](options);
  const ready: ServerReady = { kind: 'ready', addresses };
  if (process.send) {
    process.send(ready);
    process.on('disconnect', () => process.exit(0));
  } else {
    console.log(JSON.stringify(ready));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
