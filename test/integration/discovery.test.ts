import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { InvalidArgumentError, type Peer } from '../../src';
import { closeAll, delay, eventually, listeningPeer, newPeer, waitFor } from '../helpers/peers';
import { selfSignedCertificate } from '../helpers/certificate';
import { TestDns } from '../helpers/dns-server';

// peer.discover against a real DNS server on 127.0.0.1 whose records change during the tests.
// A records carry no port, so the A-record peers listen on 127.0.0.2, .3, .4 ... at one port
// (Linux routes all of 127.0.0.0/8 to the loopback); SRV records give each peer its own port.

after(closeAll);

interface Found {
  target: unknown;
  added: string[];
  removed: string[];
  addresses: string[];
}
interface Failed {
  target: unknown;
  error: Error & { code?: string };
  address?: string;
}

const ids = (peer: Peer): string[] => peer.units.map((u) => u.id);
const has = (peer: Peer, other: Peer): boolean => ids(peer).includes(other.id);

function record<T>(peer: Peer, event: string): T[] {
  const list: T[] = [];
  peer.on(event, (e: T) => list.push(e));
  return list;
}

/** A port on 127.0.0.1 that nothing listens on (for the moment). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('A records: every address is dialed, then a new one; our own never; a vanished one is not redialed once its peer closes', async () => {
  const dns = await TestDns.start();
  const name = 'mesh.roletalk.test';
  const p2 = await listeningPeer({ name: 'p2' }, { host: '127.0.0.2' });
  const port = p2.port!;
  const p3 = await listeningPeer({ name: 'p3' }, { host: '127.0.0.3', port });
  // The discovering peer listens at the same port on 127.0.0.5, which DNS lists too.
  const self = await listeningPeer({ name: 'self' }, { host: '127.0.0.5', port });
  const url = (n: number): string => `ws://127.0.0.${n}:${port}`;
  dns.a.set(name, ['127.0.0.2', '127.0.0.3', '127.0.0.5']);
  const found = record<Found>(self, 'discovery');
  const failed = record<Failed>(self, 'discovery_error');
  const authErrors = record<Error>(self, 'auth_error');

  const discovery = self.discover(`${name}:${port}`, { servers: [dns.address], interval: 100 });
  await eventually(() => has(self, p2) && has(self, p3), 3000, 'both listed peers connected');
  assert.deepEqual(found[0], { target: `${name}:${port}`, added: [url(2), url(3), url(5)], removed: [], addresses: [url(2), url(3), url(5)] });
  assert.ok(dns.questions.includes(`1 ${name}`) && dns.questions.includes(`28 ${name}`), 'asked for A and AAAA');

  // A new record: dialed at the next round.
  const p4 = await listeningPeer({ name: 'p4' }, { host: '127.0.0.4', port });
  dns.a.set(name, ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']);
  await eventually(() => has(self, p4), 3000, 'the new peer connected');
  assert.deepEqual(found.at(-1)?.added, [url(4)]);

  // 127.0.0.3 leaves DNS: its connection stays open until it closes, and is then not redialed.
  dns.a.set(name, ['127.0.0.2', '127.0.0.4', '127.0.0.5']);
  await waitFor<[Found]>(self, 'discovery', 3000, (e) => e.removed.includes(url(3)));
  assert.deepEqual(discovery.addresses, [url(2), url(4), url(5)]);
  assert.ok(has(self, p3), 'the open connection is left alone');
  const redials = record<{ address: string }>(self, 'reconnect_fail');
  await p3.close();
  const p3again = await listeningPeer({ name: 'p3 again' }, { host: '127.0.0.3', port });
  // 127.0.0.2, still listed, restarts too: it is redialed (the first redial is immediate, then 1 s).
  await p2.close();
  const p2again = await listeningPeer({ name: 'p2 again' }, { host: '127.0.0.2', port });
  await eventually(() => has(self, p2again), 8000, 'the listed peer redialed after its restart');
  await delay(1500);
  assert.ok(!has(self, p3again) && p3again.units.length === 0, 'the vanished address was redialed');
  assert.ok(!redials.some((e) => e.address === url(3)));

  // Our own address was listed all along and never dialed: a self-dial fails its handshake
  // with an auth_error on both ends. Nor is any listed address dialed twice.
  assert.deepEqual(authErrors, []);
  assert.deepEqual(failed, []);
  assert.deepEqual(ids(self).sort(), [p2again.id, p4.id].sort());
  for (const unit of self.units) assert.equal(unit.connections.length, 1);
});

test('SRV records: one port per peer, our own record skipped, a failed resolution is an event and the next round works', async () => {
  const dns = await TestDns.start();
  const service = '_roletalk._tcp.mesh.roletalk.test';
  const self = await listeningPeer({ name: 'self' });
  const a = await listeningPeer({ name: 'a' });
  const b = await listeningPeer({ name: 'b' });
  for (const host of ['a', 'b', 'c', 'self', 'gone']) dns.a.set(`${host}.mesh.roletalk.test`, ['127.0.0.1']);
  dns.srv.set(service, [
    { target: 'a.mesh.roletalk.test', port: a.port! },
    { target: 'b.mesh.roletalk.test', port: b.port! },
    { target: 'self.mesh.roletalk.test', port: self.port! },
  ]);
  const failed = record<Failed>(self, 'discovery_error');
  const authErrors = record<Error>(self, 'auth_error');
  const discovery = self.discover(service, { servers: [dns.address], interval: 100 });
  await eventually(() => has(self, a) && has(self, b), 3000, 'both listed peers connected');
  assert.equal(discovery.addresses.length, 3);

  // The DNS server fails: reported, the listing and the units stay.
  dns.failing = true;
  const [failure] = await waitFor<[Failed]>(self, 'discovery_error');
  assert.equal(failure.target, service);
  assert.equal(failure.error.code, 'ESERVFAIL');
  assert.equal(failure.address, undefined);
  assert.equal(discovery.addresses.length, 3);
  assert.ok(has(self, a) && has(self, b));

  // It answers again, with a new peer: the next round dials it.
  const c = await listeningPeer({ name: 'c' });
  dns.srv.get(service)!.push({ target: 'c.mesh.roletalk.test', port: c.port! });
  dns.failing = false;
  await eventually(() => has(self, c), 3000, 'the new peer connected after the failure');

  // A listed address where nobody listens: reported once, tried again each round, dialed once it is up.
  const port = await freePort();
  dns.srv.get(service)!.push({ target: 'gone.mesh.roletalk.test', port });
  const [refused] = await waitFor<[Failed]>(self, 'discovery_error', 3000, (e) => e.address !== undefined);
  assert.equal(refused.address, `ws://127.0.0.1:${port}`);
  await delay(500);
  assert.equal(failed.filter((e) => e.address !== undefined).length, 1, 'a dial failure is reported once');
  const late = await listeningPeer({ name: 'late' }, { port });
  await eventually(() => has(self, late), 3000, 'the late peer connected');

  assert.deepEqual(authErrors, []);
  assert.deepEqual(ids(self).sort(), [a.id, b.id, c.id, late.id].sort());
});

test('stop() and peer.close() end discovery: new records are no longer dialed, nothing keeps the process alive', async () => {
  const dns = await TestDns.start();
  const service = '_peers._tcp.stop.roletalk.test';
  const a = await listeningPeer({ name: 'a' });
  const aPort = a.port!;
  dns.a.set('a.stop.roletalk.test', ['127.0.0.1']);
  dns.srv.set(service, [{ target: 'a.stop.roletalk.test', port: a.port! }]);
  const self = newPeer({ name: 'self' });
  const discovery = self.discover({ srv: service }, { servers: [dns.address], interval: 50 });
  const [found] = await waitFor<[Found]>(self, 'discovery');
  assert.deepEqual(found, { target: { srv: service }, added: [`ws://127.0.0.1:${aPort}`], removed: [], addresses: [`ws://127.0.0.1:${aPort}`] });
  await eventually(() => has(self, a), 3000, 'the listed peer connected');

  discovery.stop();
  assert.equal(discovery.stopped, true);
  const b = await listeningPeer({ name: 'b' });
  dns.a.set('b.stop.roletalk.test', ['127.0.0.1']);
  dns.srv.get(service)!.push({ target: 'b.stop.roletalk.test', port: b.port! });
  // A round under way when stop() came may still have had a question out.
  await delay(100);
  const asked = dns.questions.length;
  await delay(300);
  assert.equal(dns.questions.length, asked, 'no resolution after stop()');
  assert.ok(!has(self, b));
  // The connection made stays open, but its address is no longer redialed.
  assert.ok(has(self, a));
  await a.close();
  const aAgain = await listeningPeer({ name: 'a again' }, { port: aPort });
  await delay(1500);
  assert.ok(!has(self, aAgain));

  const other = self.discover({ srv: service }, { servers: [dns.address], interval: 50 });
  await eventually(() => has(self, b), 3000, 'a new discovery dials');
  await self.close();
  assert.equal(other.stopped, true);
  await delay(100);
  const after = dns.questions.length;
  await delay(300);
  assert.equal(dns.questions.length, after, 'no resolution after close()');
  assert.throws(() => self.discover('x.test:1'), { code: 'RT_ERR_PEER_CLOSED' });
});

test('a URL target and a DNS name on the certificate: wss:// dials the address with the name for TLS', async () => {
  // A certificate for the DNS name only, not for 127.0.0.1: the dial must send the name.
  const { key, cert } = selfSignedCertificate('secure.roletalk.test', 'DNS:secure.roletalk.test');
  const server = await listeningPeer({ name: 'secure' }, { ssl: { key, cert } });
  const dns = await TestDns.start();
  dns.a.set('secure.roletalk.test', ['127.0.0.1']);
  const client = newPeer({ name: 'client' });
  const discovery = client.discover(`wss://secure.roletalk.test:${server.port}/`, { servers: [dns.address], wsOptions: { ca: cert } });
  await eventually(() => has(client, server), 3000, 'connected over TLS');
  assert.deepEqual(discovery.addresses, [`wss://127.0.0.1:${server.port}`]);
  // The same with `tls: true`.
  const other = newPeer({ name: 'other' });
  other.discover(`secure.roletalk.test:${server.port}`, { tls: true, servers: [dns.address], wsOptions: { ca: cert } });
  await eventually(() => has(other, server), 3000, 'connected over TLS with tls: true');
});

test('bad arguments throw InvalidArgumentError at the call, naming the argument', () => {
  const peer = newPeer();
  const wrong: Array<[unknown, unknown, string]> = [
    ['svc.local', {}, 'target'],
    ['svc.local:0', {}, 'target'],
    ['svc.local:70000', {}, 'target'],
    ['http://svc.local:7000', {}, 'target'],
    ['', {}, 'target'],
    [7000, {}, 'target'],
    [{ srv: '' }, {}, 'target'],
    [{ host: 'svc.local' }, {}, 'target'],
    ['svc.local:7000', null, 'options'],
    ['svc.local:7000', { interval: 0 }, 'options.interval'],
    ['svc.local:7000', { interval: '10s' }, 'options.interval'],
    ['svc.local:7000', { interval: 2 ** 31 }, 'options.interval'],
    ['svc.local:7000', { tls: 'yes' }, 'options.tls'],
    ['wss://svc.local:7000', { tls: false }, 'options.tls'],
    ['svc.local:7000', { path: 'x' }, 'options.path'],
    ['ws://svc.local:7000/a', { path: '/b' }, 'options.path'],
    ['svc.local:7000', { servers: [] }, 'options.servers'],
    ['svc.local:7000', { servers: ['not an address'] }, 'options.servers'],
    ['svc.local:7000', { servers: ['127.0.0.1'], resolver: { resolve4() {}, resolve6() {} } }, 'options.servers'],
    ['svc.local:7000', { resolver: { resolve4() {} } }, 'options.resolver'],
    ['_x._tcp.svc.local', { resolver: { resolve4() {}, resolve6() {} } }, 'options.resolver'],
    ['svc.local:7000', { wsOptions: 1 }, 'options.wsOptions'],
  ];
  for (const [target, options, argument] of wrong) {
    assert.throws(
      () => peer.discover(target as string, options as object),
      (err: unknown) => err instanceof InvalidArgumentError && err.argument === argument,
      `${JSON.stringify(target)} ${JSON.stringify(options)} should name ${argument}`,
    );
  }
});
