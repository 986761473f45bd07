// RPC: a service answers requests; a client calls it, and sees rejections as typed errors.
const { Peer } = require('roletalk');

async function main() {
  const server = new Peer({ name: 'calculator' });
  const math = server.role('math');
  math.onRequest('add', (ctx) => ctx.data.a + ctx.data.b);
  math.onRequest('divide', (ctx) => {
    if (ctx.data.b === 0) throw new Error('division by zero');
    return ctx.data.a / ctx.data.b;
  });
  await server.listen({ port: 0, host: '127.0.0.1' });

  const client = new Peer({ name: 'client' });
  const calculator = client.destination('math');
  await client.connect(`ws://127.0.0.1:${server.port}`);

  console.log('2 + 3 =', (await calculator.request('add', { a: 2, b: 3 })).data);
  try {
    await calculator.request('divide', { a: 1, b: 0 });
  } catch (err) {
    console.log('rejected:', err.code, err.message, 'by', err.ctx.unit.name);
  }
  await client.close();
  await server.close();
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
