// Pub-sub: a publisher broadcasts events to every subscriber of a role; subscribers come and go.
const { Peer } = require('roletalk');

async function main() {
  const hub = new Peer({ name: 'hub' });
  await hub.listen({ port: 0, host: '127.0.0.1' });
  const prices = hub.destination('prices');

  const received = [];
  const subscribers = [];
  for (const name of ['alice', 'bob']) {
    const sub = new Peer({ name });
    sub.role('prices').onMessage('tick', (ctx) => received.push(`${name}:${ctx.data.symbol}=${ctx.data.price}`));
    await sub.connect(`ws://127.0.0.1:${hub.port}`);
    subscribers.push(sub);
  }
  while (prices.units.length < 2) await new Promise((resolve) => prices.once('unit', resolve));

  console.log('sent to', prices.broadcast('tick', { symbol: 'XYZ', price: 42 }), 'subscribers');
  // One message to one subscriber, in turn (events, work queues).
  console.log('one tick went to', prices.send('tick', { symbol: 'ABC', price: 7 }).name);
  await new Promise((resolve) => setTimeout(resolve, 50));
  console.log(received.sort().join(' '));
  for (const sub of subscribers) await sub.close();
  await hub.close();
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
