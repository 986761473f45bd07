import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Timing } from '../../src/protocol/constants';
import type { FromClient, FromServer, IdleRow, RequestSample, ScaleImpl, ScaleResult, ToClient, ToServer } from './messages';

/**
 * The scale group: what idle connections cost the serving process, beside raw `ws` at the same
 * N and ping interval, and whether the heap stays flat over a long run of requests. Every
 * figure is taken in a fresh serving process, measured by itself after full GCs.
 */

export interface ScaleOptions {
  quick: boolean;
  /** Idle connection counts (default 1000, 5000, 10000; quick 1000). */
  connections: number[];
  /** Requests of the long run (default 1M; quick 200k); 0 skips it. */
  requests: number;
  log: (line: string) => void;
}

const here = __dirname;
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function start(file: string, args: string[] = []): ChildProcess {
  const child = fork(path.join(here, file), args, { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function stop(...children: ChildProcess[]): void {
  for (const child of children) child.kill();
}

/** Sends `message` (if any) and resolves with the child's next message of `kind`. */
function ask<T extends FromServer | FromClient, K extends T['kind']>(child: ChildProcess, kind: K, message?: ToServer | ToClient): Promise<Extract<T, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: T): void => {
      if (msg.kind === 'error') done(() => reject(new Error(`scale client: ${(msg as { message: string }).message}`)));
      else if (msg.kind === kind) done(() => resolve(msg as Extract<T, { kind: K }>));
    };
    const onExit = (code: number | null): void => done(() => reject(new Error(`a scale bench process exited with ${code}`)));
    const done = (settle: () => void): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
      settle();
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (message !== undefined) child.send(message);
  });
}

async function startServer(impl: ScaleImpl): Promise<{ server: ChildProcess; address: string }> {
  const server = start('server.js', [impl]);
  const { address } = await ask<FromServer, 'ready'>(server, 'ready');
  return { server, address };
}

/** N idle connections to a fresh server: memory per connection, then CPU over an idle window. */
async function idle(impl: ScaleImpl, count: number, windowMs: number): Promise<IdleRow> {
  const { server, address } = await startServer(impl);
  const client = start('client.js');
  try {
    const before = await ask<FromServer, 'sample'>(server, 'sample', { kind: 'sample' });
    await ask<FromClient, 'opened'>(client, 'opened', { kind: 'open', impl, address, count });
    let after = await ask<FromServer, 'sample'>(server, 'sample', { kind: 'sample' });
    // The server may still be finishing the last handshakes the client has seen confirmed.
    for (let i = 0; i < 50 && after.connections < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await ask<FromServer, 'sample'>(server, 'sample', { kind: 'sample' });
    }
    if (after.connections !== count) throw new Error(`${impl}: the server holds ${after.connections} of ${count} connections`);
    const { percent } = await ask<FromServer, 'cpu'>(server, 'cpu', { kind: 'cpu', ms: windowMs });
    return {
      impl,
      connections: count,
      rssPerConn: (after.rss - before.rss) / count,
      heapPerConn: (after.heapUsed - before.heapUsed) / count,
      cpuPercent: percent,
      windowMs,
    };
  } finally {
    stop(client, server);
  }
}

async function requestRun(total: number, log: ScaleOptions['log']): Promise<NonNullable<ScaleResult['requests']>> {
  const { server, address } = await startServer('roletalk');
  const client = start('client.js');
  const warmup = Math.round(total / 100);
  const window = 64;
  const checkpoints = [1, 2, 3, 4, 5].map((i) => warmup + Math.round((total * i) / 5));
  const samples: RequestSample[] = [];
  try {
    let point = await ask<FromClient, 'checkpoint'>(client, 'checkpoint', { kind: 'requests', address, warmup, checkpoints, window });
    for (;;) {
      const serverSample = await ask<FromServer, 'sample'>(server, 'sample', { kind: 'sample' });
      samples.push({ done: point.done - warmup, clientHeap: point.heapUsed, serverHeap: serverSample.heapUsed });
      log(`scale requests ${samples.at(-1)!.done.toLocaleString('en-US')}: heap client ${mib(point.heapUsed)}, server ${mib(serverSample.heapUsed)}`);
      if (point.done === checkpoints.at(-1)) break;
      point = await ask<FromClient, 'checkpoint'>(client, 'checkpoint', { kind: 'resume' });
    }
    const { seconds } = await ask<FromClient, 'finished'>(client, 'finished', { kind: 'resume' });
    return { total, warmup, window, seconds, samples };
  } finally {
    stop(client, server);
  }
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

export function describeIdle(row: IdleRow): string {
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  return `scale ${row.impl.padEnd(8)} ${String(row.connections).padStart(6)} idle conns  rss ${kib(row.rssPerConn)}/conn  heap ${kib(row.heapPerConn)}/conn  cpu ${row.cpuPercent.toFixed(2)} % of a core`;
}

export async function runScale(options: ScaleOptions): Promise<Omit<ScaleResult, 'environment'>> {
  // Two heartbeat intervals (one in a quick run): every connection pings the same number of times.
  const windowMs = (options.quick ? 1 : 2) * Timing.HEARTBEAT_INTERVAL;
  const rows: IdleRow[] = [];
  for (const count of options.connections) {
    for (const impl of ['roletalk', 'ws'] as const) {
      rows.push(await idle(impl, count, windowMs));
      options.log(describeIdle(rows.at(-1)!));
    }
  }
  const requests = options.requests > 0 ? await requestRun(options.requests, options.log) : null;
  return {
    quick: options.quick,
    heartbeat: { interval: Timing.HEARTBEAT_INTERVAL, timeout: Timing.HEARTBEAT_TIMEOUT },
    idle: rows,
    requests,
  };
}
