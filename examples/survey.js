// Survey: ask every unit of a role at once and gather their answers, failures included.
const { Peer } = require('roletalk');

async function main() {
  const nodes = [];
  for (let i = 1; i <= 3; i++) {
    const node = new Peer({ name: `node-${i}` });
    node.role('health').onRequest('status', () => {
      if (i === 3) throw new Error('disk full');
      return { node: i, load: i / 10 };
    });
    await node.listen({ port: 0, host: '127.0.0.1' });
    nodes.push(node);
  }
  const monitor = new Peer({ name: 'monitor' });
  const health = monitor.destination('health');
  for (const node of nodes) await monitor.connect(`ws://127.0.0.1:${node.port}`);

  const answers = await health.surveyAll({ event: 'status', timeout: 1000 });
  for (const { unit, ctx, error } of answers) {
    console.log(unit.name, error ? `failed: ${error.message}` : `load ${ctx.data.load}`);
  }
  await monitor.close();
  for (const node of nodes) await node.close();
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
