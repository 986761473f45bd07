import { spawn } from 'node:child_process';
import type * as Nats from 'nats';
import { partialDriver, type Driver } from '../driver';
import type { ServerOptions } from '../messages';
import { findBinary, freePort, onCpu, waitForPort, type Cpu } from '../processes';

/**
 * The NATS baseline: request/reply through a nats-server that the suite starts. The bench server
 * subscribes to `bench.echo` and responds with the request's payload; the client uses
 * `nc.request`. Addresses are the nats-server's URL. The `nats` package is a dev dependency and
 * nats-server a separate program: the suite skips this baseline without either.
 */

const SUBJECT = 'bench.echo';

function natsJs(): typeof Nats {
  return require('nats') as typeof Nats;
}

/** Why the NATS baseline cannot run here, or undefined when it can. */
export function missing(): string | undefined {
  return findBinary('nats-server') === undefined ? 'no nats-server binary on the PATH or in /usr/sbin' : undefined;
}

/** Starts a nats-server on a free port of 127.0.0.1, on `cpu`; resolves once it accepts clients. */
export async function startBroker(cpu: Cpu): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const [command, args] = onCpu(cpu, findBinary('nats-server')!, ['-a', '127.0.0.1', '-p', String(port)]);
  const child = spawn(command, args, { stdio: 'ignore' });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}`))));
  await Promise.race([waitForPort(port, 10_000), exited]);
  return { url: `nats://127.0.0.1:${port}`, stop: () => child.kill() };
}

export async function serve(options: ServerOptions): Promise<string[]> {
  const nats = natsJs();
  if (options.broker === undefined) throw new Error('the NATS bench server needs the broker URL');
  for (let i = 0; i < options.peers; i++) {
    const nc = await nats.connect({ servers: options.broker });
    // One queue group: several peers share the subject's requests as units of one role would.
    nc.subscribe(SUBJECT, { queue: 'bench', callback: (err, msg) => err || msg.respond(msg.data) });
    await nc.flush();
  }
  return [options.broker];
}

export async function connect(addresses: string[], connections: number): Promise<Driver> {
  const nats = natsJs();
  const clients: Nats.NatsConnection[] = [];
  for (const servers of addresses) for (let c = 0; c < connections; c++) clients.push(await nats.connect({ servers }));
  let next = 0;
  return partialDriver('NATS', {
    units: addresses.length,
    request: (payload) => clients[next++ % clients.length]!.request(SUBJECT, payload, { timeout: 10_000 }),
    async close() {
      for (const nc of clients) await nc.close();
    },
  });
}
