import { WebSocketServer, type WebSocket } from 'ws';
import { Peer } from '../../src';
import { Timing } from '../../src/protocol/constants';
import { memoryAfterGc, type FromServer, type ScaleImpl, type ToServer } from './messages';

/**
 * The serving process of the scale group: one roletalk Peer with the default heartbeat, or a raw
 * `ws` server pinging at the same interval, on 127.0.0.1 port 0. It measures itself when the
 * harness asks: memory after GC and CPU over an idle window. The Peer also answers `echo`
 * requests for the long request run.
 */

const send = (message: FromServer): void => {
  process.send!(message);
};

async function roletalk(): Promise<{ address: string; connections: () => number }> {
  const peer = new Peer({ name: 'scale-server' });
  peer.role('scale').onRequest('echo', (ctx) => ctx.data);
  await peer.listen({ port: 0, host: '127.0.0.1' });
  return { address: `ws://127.0.0.1:${peer.port}`, connections: () => peer.units.length };
}

/**
 * The baseline: idle ws connections kept alive as the ws README does it, one interval for all
 * that terminates the silent ones and pings the rest.
 */
async function rawWs(): Promise<{ address: string; connections: () => number }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const alive = new WeakSet<WebSocket>();
  const markAlive = function (this: WebSocket): void {
    alive.add(this);
  };
  wss.on('connection', (ws) => {
    alive.add(ws);
    ws.on('pong', markAlive);
    ws.on('error', () => {});
  });
  setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, Timing.HEARTBEAT_INTERVAL);
  return { address: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, connections: () => wss.clients.size };
}

async function main(): Promise<void> {
  const impl = process.argv[2] as ScaleImpl;
  const server = impl === 'ws' ? await rawWs() : await roletalk();
  process.on('message', async (message: ToServer) => {
    if (message.kind === 'sample') {
      send({ kind: 'sample', ...(await memoryAfterGc()), connections: server.connections() });
    } else {
      await memoryAfterGc();
      const start = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, message.ms));
      const used = process.cpuUsage(start);
      send({ kind: 'cpu', percent: ((used.user + used.system) / 1000 / message.ms) * 100 });
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ kind: 'ready', address: server.address });
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
