// Discovery: a peer finds the workers that DNS lists (here SRV records, a port per worker) and
// follows the records as workers come and go. A real mesh points `discover` at its DNS (a
// Kubernetes headless Service, Consul); here a small resolver of our own plays DNS.
const { Peer } = require('roletalk');

async function main() {
  const workers = [];
  for (const name of ['worker-a', 'worker-b', 'worker-c']) {
    const worker = new Peer({ name });
    worker.role('jobs').onRequest('run', () => name);
    await worker.listen({ port: 0, host: '127.0.0.1' });
    workers.push(worker);
  }
  // What DNS would answer for _jobs._tcp.example.internal: SRV records, then A records.
  let listed = workers.slice(0, 2);
  const resolver = {
    resolveSrv: async () => listed.map((w) => ({ name: 'jobs.example.internal', port: w.port, priority: 0, weight: 0 })),
    resolve4: async () => ['127.0.0.1'],
    resolve6: async () => [],
  };

  const boss = new Peer({ name: 'boss' });
  const jobs = boss.destination('jobs');
  boss.on('discovery', ({ added, removed }) => console.log('discovery:', added.length, 'added,', removed.length, 'removed'));
  const discovery = boss.discover('_jobs._tcp.example.internal', { resolver, interval: 200 });
  while (jobs.units.length < 2) await new Promise((resolve) => jobs.once('unit', resolve));
  console.log('serving jobs:', jobs.units.map((u) => u.name).sort().join(', '));

  // A third worker appears in DNS; the next round dials it.
  listed = workers;
  while (jobs.units.length < 3) await new Promise((resolve) => jobs.once('unit', resolve));
  console.log('serving jobs:', jobs.units.map((u) => u.name).sort().join(', '));

  discovery.stop();
  await boss.close();
  for (const worker of workers) await worker.close();
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
