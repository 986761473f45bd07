import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientOptions } from 'ws';
import { AuthError } from '../../../src/errors';
import { SELF_DIAL, type Dialer } from '../../../src/engine/dialer';
import { Discovery, isOwnAddress, type DiscoveryHost, type DiscoverySpec, type DnsResolver } from '../../../src/engine/discovery';

// engine/discovery.ts with a resolver and a host of the test's own: which rounds count, what is
// dialed and stopped, and which addresses are this peer's.

const noRecords = (code: string): Promise<never> => Promise.reject(Object.assign(new Error(code), { code }));

class FakeHost implements DiscoveryHost {
  readonly dials: Array<{ address: string; wsOptions: ClientOptions; dialer: { address: string; stopped: boolean; stop(): void }; settle: (err?: Error) => void }> = [];
  readonly events: Array<{ added: string[]; removed: string[] }> = [];
  readonly failures: Array<{ error: Error; address: string | undefined }> = [];
  listen: { host: string | undefined; port: number } | undefined;
  reached = new Set<string>();
  forgotten = false;

  dial(address: string, wsOptions: ClientOptions): { dialer: Dialer; first: Promise<unknown> } {
    const dialer = {
      address,
      stopped: false,
      stop() {
        this.stopped = true;
      },
    };
    let settle!: (err?: Error) => void;
    const first = new Promise((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve(undefined))));
    this.dials.push({ address, wsOptions, dialer, settle });
    return { dialer: dialer as unknown as Dialer, first };
  }
  reaches(address: string): boolean {
    return this.reached.has(address);
  }
  listenAddress(): { host: string | undefined; port: number } | undefined {
    return this.listen;
  }
  found(_target: unknown, added: string[], removed: string[]): void {
    this.events.push({ added, removed });
  }
  failed(_target: unknown, error: Error, address: string | undefined): void {
    this.failures.push({ error, address });
  }
  forget(): void {
    this.forgotten = true;
  }
}

function spec(lookup: DiscoverySpec['lookup'], resolver: DnsResolver, extra: Partial<DiscoverySpec> = {}): DiscoverySpec {
  return { target: 't', lookup, scheme: 'ws', path: '', interval: 1e9, resolver, wsOptions: {}, ...extra };
}

test('A and AAAA addresses are dialed (IPv6 in brackets, the name for TLS); a family with no records is an empty answer', async () => {
  const host = new FakeHost();
  const resolver: DnsResolver = {
    resolve4: async () => ['10.0.0.1'],
    resolve6: async () => ['fd00::1'],
    resolveSrv: () => noRecords('ENODATA'),
  };
  const d = new Discovery(host, spec({ kind: 'host', host: 'svc.local', port: 7000 }, resolver, { scheme: 'wss', path: '/rt', wsOptions: { ca: 'x' } }));
  await d.refresh();
  assert.deepEqual(d.addresses, ['wss://10.0.0.1:7000/rt', 'wss://[fd00::1]:7000/rt']);
  assert.deepEqual(
    host.dials.map((x) => [x.address, x.wsOptions]),
    [
      ['wss://10.0.0.1:7000/rt', { servername: 'svc.local', ca: 'x' }],
      ['wss://[fd00::1]:7000/rt', { servername: 'svc.local', ca: 'x' }],
    ],
  );
  resolver.resolve6 = () => noRecords('ENODATA');
  await d.refresh();
  assert.deepEqual(host.events.at(-1), { added: [], removed: ['wss://[fd00::1]:7000/rt'] });
  assert.equal(host.dials[1]!.dialer.stopped, true, 'the vanished address is no longer redialed');
  assert.equal(host.dials[0]!.dialer.stopped, false);
  d.stop();
  assert.equal(host.dials[0]!.dialer.stopped, true);
  assert.equal(host.forgotten, true);
});

test('a failed query fails the round and changes nothing; a name that does not exist lists nothing', async () => {
  const host = new FakeHost();
  let v6: () => Promise<string[]> = async () => [];
  const resolver: DnsResolver = { resolve4: async () => ['10.0.0.1', '10.0.0.2'], resolve6: () => v6(), resolveSrv: () => noRecords('ENODATA') };
  const d = new Discovery(host, spec({ kind: 'host', host: 'svc.local', port: 7000 }, resolver));
  await d.refresh();
  v6 = () => noRecords('ETIMEOUT');
  await d.refresh();
  assert.equal(host.failures.length, 1);
  assert.equal((host.failures[0]!.error as Error & { code: string }).code, 'ETIMEOUT');
  assert.equal(d.addresses.length, 2);
  assert.ok(host.dials.every((x) => !x.dialer.stopped));
  resolver.resolve4 = () => noRecords('ENOTFOUND');
  v6 = () => noRecords('ENOTFOUND');
  await d.refresh();
  assert.deepEqual(d.addresses, []);
  assert.ok(host.dials.every((x) => x.dialer.stopped));
  assert.equal(host.failures.length, 1);
  d.stop();
});

test('SRV: each target resolved with its port, "." skipped; own addresses and addresses dialed elsewhere are not dialed', async () => {
  const host = new FakeHost();
  host.listen = { host: '127.0.0.1', port: 7001 };
  host.reached.add('ws://10.0.0.3:7003');
  const a: Record<string, string[]> = { 'a.svc': ['127.0.0.1'], 'b.svc': ['10.0.0.2'], 'c.svc': ['10.0.0.3'] };
  const resolver: DnsResolver = {
    resolve4: async (name) => a[name] ?? [],
    resolve6: () => noRecords('ENODATA'),
    resolveSrv: async () => [
      { name: 'a.svc', port: 7001 },
      { name: 'b.svc.', port: 7002 },
      { name: 'c.svc', port: 7003 },
      { name: '.', port: 7004 },
      { name: '10.0.0.9', port: 7005 },
    ],
  };
  const d = new Discovery(host, spec({ kind: 'srv', name: '_rt._tcp.svc' }, resolver));
  await d.refresh();
  assert.deepEqual(d.addresses, ['ws://127.0.0.1:7001', 'ws://10.0.0.2:7002', 'ws://10.0.0.3:7003', 'ws://10.0.0.9:7005']);
  assert.deepEqual(
    host.dials.map((x) => x.address),
    ['ws://10.0.0.2:7002', 'ws://10.0.0.9:7005'],
  );
  d.stop();
});

test('a failed first dial is reported once and tried again each round; a self-dial never again; a unit closed on purpose is left alone', async () => {
  const host = new FakeHost();
  const resolver: DnsResolver = { resolve4: async () => ['10.0.0.1', '10.0.0.2', '10.0.0.3'], resolve6: async () => [], resolveSrv: async () => [] };
  const d = new Discovery(host, spec({ kind: 'host', host: 'svc', port: 1 }, resolver));
  await d.refresh();
  assert.equal(host.dials.length, 3);
  const [one, two, three] = host.dials;
  one!.settle(new Error('ECONNREFUSED'));
  two!.settle(new AuthError(SELF_DIAL));
  three!.settle();
  await d.refresh();
  assert.deepEqual(host.failures.map((f) => f.address), ['ws://10.0.0.1:1']);
  assert.deepEqual(host.dials.slice(3).map((x) => x.address), ['ws://10.0.0.1:1'], 'only the refused address is dialed again');
  host.dials[3]!.settle(new Error('ECONNREFUSED'));
  three!.dialer.stopped = true; // unit.close() on the connected one
  await d.refresh();
  assert.equal(host.failures.length, 1, 'reported once');
  assert.deepEqual(host.dials.slice(4).map((x) => x.address), ['ws://10.0.0.1:1']);
  d.stop();
});

test('isOwnAddress: the listen host if an IP, loopback for localhost, any local address for every interface', () => {
  const local = (): Set<string> => new Set(['127.0.0.1', '192.168.1.5', '::1']);
  const own = (ip: string, port: number, host: string | undefined): boolean => isOwnAddress(ip, port, { host, port: 7000 }, local);
  assert.equal(isOwnAddress('127.0.0.1', 7000, undefined, local), false, 'not listening');
  assert.equal(own('127.0.0.1', 7001, undefined), false, 'another port');
  assert.equal(own('127.0.0.5', 7000, '127.0.0.5'), true);
  assert.equal(own('127.0.0.2', 7000, '127.0.0.5'), false, 'another loopback address, another peer');
  assert.equal(own('::ffff:127.0.0.5', 7000, '127.0.0.5'), true);
  assert.equal(own('::1', 7000, '[::1]'), true);
  assert.equal(own('127.0.0.9', 7000, 'localhost'), true);
  assert.equal(own('192.168.1.5', 7000, 'localhost'), false);
  for (const wildcard of [undefined, '0.0.0.0', '::']) {
    assert.equal(own('192.168.1.5', 7000, wildcard), true);
    assert.equal(own('127.0.0.3', 7000, wildcard), true);
    assert.equal(own('192.168.1.6', 7000, wildcard), false);
  }
});
