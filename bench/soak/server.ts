import fs from 'node:fs';
import { Peer } from '../../src';
import { exitWithParent } from '../harness/children';
import { ByteTable, heapAfterGc } from '../harness/stats';
import { dropOneOfTwo, type FromServer, type ToServer } from './messages';

/**
 * The serving process of the soak. Serves role `soak`, event `exec`: the request's data is its
 * unique id; the handler counts how many times it ran that id and answers `{ id, n }`. The counts
 * are written to a file when the harness asks (`report`) and just before the process is killed
 * (`die`), in the same synchronous step as the kill, so no execution escapes the count.
 */

exitWithParent();
const send = (msg: FromServer): void => void process.send!(msg);
const counts = new ByteTable();
let executions = 0;
let countsFile = '';
const peer = new Peer({ name: 'soak-server' });

peer.role('soak').onRequest('exec', (ctx) => {
  const id = ctx.data as number;
  executions++;
  return { id, n: counts.increment(id) };
});

function writeCounts(): void {
  fs.writeFileSync(countsFile, counts.view());
}

process.on('message', (msg: ToServer) => {
  switch (msg.type) {
    case 'start':
      countsFile = msg.countsFile;
      peer.listen({ port: msg.port, host: '127.0.0.1' }).then(
        () => send({ type: 'listening', port: peer.port!, heap: heapAfterGc() }),
        (err: Error) => {
          console.error(`soak server: listen failed: ${err.message}`);
          process.exit(2);
        },
      );
      break;
    case 'drop': {
      const conns = peer.units[0]?.connections ?? [];
      send({ type: 'dropped', done: dropOneOfTwo(conns, msg.mode), connections: conns.length });
      break;
    }
    case 'die':
      writeCounts();
      process.kill(process.pid, 'SIGKILL');
      break;
    case 'report':
      writeCounts();
      send({ type: 'report', heap: heapAfterGc(), executions });
      break;
  }
});
