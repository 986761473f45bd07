// Cancellation and deadlines: a caller's AbortSignal and timeout reach the handler that serves
// it (ctx.signal, ctx.deadline), through a middle service that passes them on.
const { Peer } = require('roletalk');

async function main() {
  const search = new Peer({ name: 'search' });
  search.role('search').onRequest('query', (ctx) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(['result']), 5_000);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        console.log(`search stopped (${ctx.signal.reason.name}) with ${Math.round(ctx.deadline - Date.now())} ms left of its deadline`);
        resolve([]);
      });
    }),
  );
  await search.listen({ port: 0, host: '127.0.0.1' });

  const api = new Peer({ name: 'api' });
  const backend = api.destination('search');
  await api.connect(`ws://127.0.0.1:${search.port}`);
  api.role('api').onRequest('find', async (ctx) =>
    // Inherit the deadline and the cancellation of the request being served.
    (await backend.request({ event: 'query', deadline: ctx.deadline, signal: ctx.signal }, ctx.data)).data,
  );
  await api.listen({ port: 0, host: '127.0.0.1' });

  const user = new Peer({ name: 'user' });
  const find = user.destination('api');
  await user.connect(`ws://127.0.0.1:${api.port}`);

  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  await find.request({ event: 'find', signal: controller.signal }, 'fox').catch((err) => console.log('user aborted:', err.name));
  await find.request({ event: 'find', timeout: 200 }, 'dog').catch((err) => console.log('user timed out:', err.code));

  await new Promise((resolve) => setTimeout(resolve, 100));
  for (const peer of [user, api, search]) await peer.close();
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
