import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Peer, type Unit } from '../../src';

// The `ext.listen` extension (docs/protocol.md §9): a peer that dialed in can still be introduced,
// because it said in its handshake where it listens.

const peers: Peer[] = [];
after(async () => {
  await Promise.all(peers.map((p) => p.close()));
});

function peer(options: ConstructorParameters<typeof Peer>[0] = {}): Peer {
  const p = new Peer(options);
  peers.push(p);
  return p;
}

function waitForUnit(p: Peer, id: string, ms: number): Promise<Unit | undefined> {
  const known = p.units.find((u) => u.id === id);
  if (known) return Promise.resolve(known);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      p.off('unit', onUnit);
      resolve(undefined);
    }, ms);
    const onUnit = (u: Unit): void => {
      if (u.id !== id) return;
      clearTimeout(timer);
      p.off('unit', onUnit);
      resolve(u);
    };
    p.on('unit', onUnit);
  });
}

for (const advertise of [true, false]) {
  test(`an inbound peer ${advertise ? 'that advertises its address is' : 'that does not advertise is not'} introduced`, async () => {
    const hub = peer({ name: 'hub' });
    await hub.listen({ port: 0, host: '127.0.0.1' });
    const service = peer({ name: 'service', advertise });
    service.role('svc').onRequest('who', () => 'service');
    await service.listen({ port: 0, host: '127.0.0.1' });
    await service.connect(`ws://127.0.0.1:${hub.port}`);

    const client = peer({ name: 'client' });
    const svc = client.destination('svc');
    await client.connect(`ws://127.0.0.1:${hub.port}`);

    const direct = await waitForUnit(client, service.id, advertise ? 5000 : 500);
    if (advertise) {
      assert.ok(direct, 'the client dialed the service it was introduced to');
      assert.equal((await svc.request('who')).data, 'service');
      assert.equal(direct.connections[0]!.outbound, true);
      assert.equal(hub.units.find((u) => u.id === service.id)?.address, `ws://127.0.0.1:${service.port}`);
    } else {
      assert.equal(direct, undefined);
      assert.equal(svc.ready, false);
    }
  });
}

test('advertise must be a ws:// URL or a boolean', () => {
  assert.throws(() => new Peer({ advertise: 'http://x' }), { code: 'RT_ERR_INVALID_ARG', argument: 'advertise' });
});
