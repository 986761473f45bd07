import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RejectedError, type Context } from '../../src';
import { closeAll, connectedPair, delay, rejectionOf, waitFor } from '../helpers/peers';

// The middleware chain: peer onData, peer on<Kind>, role onData, role on<Kind>, handler.

after(closeAll);

test('five layers each adding a digit before and after next() give "123454321"', async () => {
  const trace: string[] = [];
  const { client } = await connectedPair({
    setup: (server) => {
      const layer = (digit: string) => async (ctx: Context) => {
        trace.push(digit);
        await ctx.next();
        trace.push(digit);
      };
      // Registered in an order unlike the run order: the order is by layer, not by registration.
      const role = server.role('mw');
      role.onRequest(layer('4'));
      role.onData(layer('3'));
      server.onRequest(layer('2'));
      server.onData(layer('1'));
      role.onRequest('order', async () => {
        await delay(2);
        trace.push('5');
        return trace.join('');
      });
    },
  });
  const ctx = await client.destination('mw').request('order', null);
  assert.equal(ctx.data, '12345', 'the reply is decided when the handler returns');
  await delay(10);
  assert.equal(trace.join(''), '123454321');

  // Sync middleware with the reply callback: the same order.
  trace.length = 0;
  await client.destination('mw').request('order', null);
  await delay(10);
  assert.equal(trace.join(''), '123454321');
});

test('the chain unwinds before the reply goes out, so outer layers see the inner ones done', async () => {
  const { client } = await connectedPair({
    setup: (server) => {
      const role = server.role('mw');
      server.onData(async (ctx) => {
        await ctx.next();
        ctx.response = `${ctx.response as string}|peer-data`;
      });
      role.onRequest(async (ctx) => {
        await ctx.next();
        ctx.response = `${ctx.response as string}|role-request`;
      });
      role.onRequest('x', (_ctx, reply) => reply(null, 'handler'));
    },
  });
  assert.equal((await client.destination('mw').request('x', null)).data, 'handler|role-request|peer-data');
});

test('middleware changes ctx.data before and ctx.response after the handler', async () => {
  const { client } = await connectedPair({
    setup: (server) => {
      server.onRequest(async (ctx) => {
        ctx.data = { wrapped: ctx.data };
        await ctx.next();
        ctx.response = { answer: ctx.response, by: 'middleware' };
      });
      server.role('mw').onRequest('echo', (ctx) => ctx.data);
    },
  });
  const ctx = await client.destination('mw').request('echo', 7);
  assert.deepEqual(ctx.data, { answer: { wrapped: 7 }, by: 'middleware' });
});

test('middleware can turn an error into a response and a response into an error', async () => {
  const { client } = await connectedPair({
    setup: (server) => {
      const role = server.role('mw');
      role.onRequest(async (ctx) => {
        await ctx.next();
        if (ctx.event === 'fails' && ctx.error !== undefined) {
          ctx.response = `recovered from ${(ctx.error as Error).message}`;
          ctx.error = undefined;
        }
        if (ctx.event === 'works') ctx.error = new Error('vetoed after the fact');
      });
      role.onRequest('fails', () => {
        throw new Error('inner failure');
      });
      role.onRequest('works', () => 'fine');
    },
  });
  const dest = client.destination('mw');
  assert.equal((await dest.request('fails', null)).data, 'recovered from inner failure');
  const err = await rejectionOf(dest.request('works', null));
  assert.ok(err instanceof RejectedError);
  assert.equal(err.message, 'vetoed after the fact');
});

test('middleware short-circuits by replying: the handler and inner layers do not run', async () => {
  let innerRan = 0;
  let handlerRan = 0;
  const { client } = await connectedPair({
    setup: (server) => {
      server.onRequest((ctx, reply) => {
        if (ctx.data === 'deny') return reply(new Error('denied by middleware'));
        if (ctx.data === 'cached') return reply(null, 'from cache');
        return undefined;
      });
      const role = server.role('mw');
      role.onRequest(async (ctx) => {
        innerRan++;
        await ctx.next();
      });
      role.onRequest('x', () => {
        handlerRan++;
        return 'from handler';
      });
    },
  });
  const dest = client.destination('mw');
  assert.equal((await dest.request('x', 'cached')).data, 'from cache');
  const err = await rejectionOf(dest.request('x', 'deny'));
  assert.equal(err.message, 'denied by middleware');
  assert.equal(innerRan, 0);
  assert.equal(handlerRan, 0);
  // A layer that neither replies nor calls next() passes on.
  assert.equal((await dest.request('x', 'pass')).data, 'from handler');
  assert.equal(innerRan, 1);
  assert.equal(handlerRan, 1);
});

test('a throwing or rejecting middleware rejects the request with its message', async () => {
  const { client } = await connectedPair({
    setup: (server) => {
      server.onData((ctx) => {
        if (ctx.data === 'throw') throw new Error('middleware threw');
      });
      server.role('mw').onData(async (ctx) => {
        if (ctx.data === 'reject') throw new Error('middleware rejected');
      });
      server.role('mw').onRequest('x', () => 'ok');
    },
  });
  const dest = client.destination('mw');
  assert.equal((await rejectionOf(dest.request('x', 'throw'))).message, 'middleware threw');
  assert.equal((await rejectionOf(dest.request('x', 'reject'))).message, 'middleware rejected');
  assert.equal((await dest.request('x', 'fine')).data, 'ok');
});

test('middleware of another role, and request middleware, do not run for a message', async () => {
  const trace: string[] = [];
  const { server, client } = await connectedPair({
    setup: (server) => {
      server.onData(async (ctx) => {
        trace.push(`data:${ctx.role}`);
        await ctx.next();
      });
      server.onMessage(async (ctx) => {
        trace.push('peer-message');
        ctx.data = `${ctx.data as string}+peer`;
        await ctx.next();
      });
      server.onRequest(() => {
        trace.push('peer-request');
      });
      const role = server.role('m');
      role.onData(() => {
        trace.push('role-data');
      });
      role.onMessage((ctx) => {
        trace.push('role-message');
        ctx.data = `${ctx.data as string}+role`;
      });
      role.onRequest(() => {
        trace.push('role-request');
      });
      server.role('other').onMessage(() => {
        trace.push('other-role');
      });
      role.onMessage('note', (ctx) => {
        trace.push('handler');
        server.emit('note', ctx.data);
      });
    },
  });
  const seen = waitFor<[string]>(server, 'note');
  client.destination('m').send('note', 'x');
  assert.equal((await seen)[0], 'x+peer+role');
  assert.deepEqual(trace, ['data:m', 'peer-message', 'role-data', 'role-message', 'handler']);
});

test('message middleware can drop a message by replying instead of passing on', async () => {
  const { server, client } = await connectedPair({
    setup: (server) => {
      server.role('m').onMessage((ctx, reply) => {
        if (ctx.data === 'spam') reply();
      });
      server.role('m').onMessage('note', (ctx) => {
        server.emit('note', ctx.data);
      });
    },
  });
  const notes: unknown[] = [];
  server.on('note', (d) => notes.push(d));
  const last = waitFor(server, 'note', 3000, (d) => d === 'ham');
  client.destination('m').send('note', 'spam');
  client.destination('m').send('note', 'ham');
  await last;
  assert.deepEqual(notes, ['ham']);
});

test('a layer that does not await its next() still unwinds in order: "123454321" as 1.1.x answers', async () => {
  const { server, client } = await connectedPair({ setup: (server) => server.role('mw') });
  // Registered after the request left, as a 1.1.x application may do: the layers are looked up
  // when the request arrives.
  const dest = client.destination('mw');
  if (!dest.ready) await waitFor(dest, 'open');
  server.onData(async (ctx) => {
    ctx.response = '1';
    await ctx.next();
    ctx.response += '1';
  });
  server.onRequest((ctx) => {
    ctx.response += '2';
    // Not awaited and not returned: the chain must still wait for it before layer 1 goes on.
    void ctx.next().then(() => {
      ctx.response += '2';
    });
  });
  const role = server.role('mw');
  role.onData(async (ctx) => {
    ctx.response += '3';
    await ctx.next();
    ctx.response += '3';
  });
  role.onRequest(async (ctx) => {
    ctx.response += '4';
    await ctx.next();
    ctx.response += '4';
  });
  role.onRequest('order', (ctx, cb) => cb(null, `${ctx.response as string}5`));
  assert.equal((await dest.request('order', null)).data, '123454321');
});

test('a layer whose code after next() is itself asynchronous is waited for before the outer layers', async () => {
  const { client } = await connectedPair({
    setup: (server) => {
      server.onRequest(async (ctx) => {
        await ctx.next();
        ctx.response += '|outer';
      });
      server.role('mw').onRequest(async (ctx) => {
        await ctx.next();
        await delay(5);
        ctx.response += '|inner-after-delay';
      });
      server.role('mw').onRequest('x', () => 'handler');
    },
  });
  assert.equal((await client.destination('mw').request('x', null)).data, 'handler|inner-after-delay|outer');
});
