import net from 'node:net';
import os from 'node:os';
import type { ClientOptions } from 'ws';
import { AuthError } from '../errors';
import { SELF_DIAL, type Dialer } from './dialer';

/** The DNS look-ups discovery makes; `dns.promises` and a `dns.promises.Resolver` fit. */
export interface DnsResolver {
  resolve4(hostname: string): Promise<string[]>;
  resolve6(hostname: string): Promise<string[]>;
  resolveSrv(hostname: string): Promise<Array<{ name: string; port: number }>>;
}

/** What a discovery resolves: a name's A and AAAA records with a port, or an SRV name. */
export type Lookup = { kind: 'host'; host: string; port: number } | { kind: 'srv'; name: string };

/** A discovery's settings, checked by the API. */
export interface DiscoverySpec {
  /** The target as the user gave it, repeated in events. */
  target: string | { srv: string };
  lookup: Lookup;
  scheme: 'ws' | 'wss';
  /** The URL path dialed (`''` or starting with `/`). */
  path: string;
  interval: number;
  resolver: DnsResolver;
  wsOptions: ClientOptions;
}

/** What a discovery needs from the peer. */
export interface DiscoveryHost {
  /** Starts a permanent dialer for `address`; `first` settles with its first attempt. */
  dial(address: string, wsOptions: ClientOptions): { dialer: Dialer; first: Promise<unknown> };
  /** Whether something else already dials `address`, or a unit is known there. */
  reaches(address: string): boolean;
  /** Where this peer listens, if it does (`host` as given to `listen`). */
  listenAddress(): { host: string | undefined; port: number } | undefined;
  /** The DNS listing changed. */
  found(target: DiscoverySpec['target'], added: string[], removed: string[], addresses: string[]): void;
  /** A round's resolution failed, or the first dial of a listed `address` did. */
  failed(target: DiscoverySpec['target'], error: Error, address: string | undefined): void;
  forget(discovery: Discovery): void;
}

/** One address found in DNS. */
interface Found {
  ip: string;
  port: number;
  /** The DNS name it came from, for TLS (SNI and the certificate check). */
  name: string | undefined;
}

/** A listed address and what this discovery does with it. */
interface Entry extends Found {
  url: string;
  /**
   * Our dialer for it; undefined before the first dial and after a failed one. Once stopped
   * after it connected (`unit.close()`, `redial: false`), it stays: the address is left alone.
   */
  dialer: Dialer | undefined;
  /** The address turned out to be this peer. */
  self: boolean;
  /** A failed first dial was reported; the next is not, until one succeeds. */
  reported: boolean;
}

/**
 * Discovery through DNS (`peer.discover`): every `interval` ms it resolves the target, dials
 * each address listed that nobody dials yet and that is not this peer's own, and stops the
 * dialer of an address that left the listing, so that it is not redialed once its connection
 * closes (the connection itself is left open). A failed round changes nothing and is reported;
 * a name with no records lists nothing. A failed first dial is tried again next round.
 */
export class Discovery {
  private readonly entries = new Map<string, Entry>();
  /** The URLs of the last successful round, in DNS order. */
  private listing: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private requested = 0;
  private isStopped = false;

  /** @internal */
  constructor(
    private readonly host: DiscoveryHost,
    private readonly spec: DiscoverySpec,
  ) {
    void this.refresh();
  }

  /** The target as given to `discover`. */
  get target(): string | { srv: string } {
    return this.spec.target;
  }

  /** The addresses (URLs) the last successful round listed. */
  get addresses(): string[] {
    return [...this.listing];
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  /** Resolves again now (after a round under way); resolves once that round is done. */
  refresh(): Promise<void> {
    if (this.isStopped) return Promise.resolve();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const n = ++this.requested;
    this.chain = this.chain
      .then(() => this.round())
      .then(() => {
        if (n === this.requested && !this.isStopped) {
          this.timer = setTimeout(() => void this.refresh(), this.spec.interval);
          this.timer.unref();
        }
      });
    return this.chain;
  }

  /** Ends the discovery: no more rounds, and none of its addresses is redialed. */
  stop(): void {
    if (this.isStopped) return;
    this.isStopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of this.entries.values()) entry.dialer?.stop();
    this.entries.clear();
    this.listing = [];
    this.host.forget(this);
  }

  private async round(): Promise<void> {
    let found: Map<string, Found>;
    try {
      found = await this.resolve();
    } catch (err) {
      if (!this.isStopped) this.host.failed(this.spec.target, err as Error, undefined);
      return;
    }
    if (this.isStopped) return;
    const added: string[] = [];
    const removed: string[] = [];
    for (const [url, entry] of this.entries) {
      if (found.has(url)) continue;
      entry.dialer?.stop();
      this.entries.delete(url);
      removed.push(url);
    }
    for (const [url, address] of found) {
      if (this.entries.has(url)) continue;
      this.entries.set(url, { ...address, url, dialer: undefined, self: false, reported: false });
      added.push(url);
    }
    this.listing = [...found.keys()];
    if (added.length > 0 || removed.length > 0) this.host.found(this.spec.target, added, removed, this.addresses);
    for (const entry of this.entries.values()) this.tend(entry);
  }

  /** Dials a listed address unless it is ours, dialed already, or closed on purpose. */
  private tend(entry: Entry): void {
    // Ours and alive, or closed on purpose (unit.close(), `redial: false`) after it connected.
    if (entry.self || entry.dialer !== undefined) return;
    if (isOwnAddress(entry.ip, entry.port, this.host.listenAddress(), localAddresses)) return;
    if (this.host.reaches(entry.url)) return;
    // wss: the DNS name for SNI and the certificate check, not the IP dialed.
    const tlsName = this.spec.scheme === 'wss' && entry.name !== undefined;
    const wsOptions = tlsName ? { servername: entry.name, ...this.spec.wsOptions } : this.spec.wsOptions;
    const { dialer, first } = this.host.dial(entry.url, wsOptions);
    entry.dialer = dialer;
    first.then(
      () => {
        entry.reported = false;
      },
      (err: Error) => {
        if (this.entries.get(entry.url) !== entry) return;
        entry.dialer = undefined;
        if (err instanceof AuthError && err.message === SELF_DIAL) entry.self = true;
        else if (!entry.reported && !this.isStopped) {
          entry.reported = true;
          this.host.failed(this.spec.target, err, entry.url);
        }
      },
    );
  }

  /** The addresses listed now, by URL. */
  private async resolve(): Promise<Map<string, Found>> {
    const { lookup, resolver } = this.spec;
    const found: Found[] = [];
    if (lookup.kind === 'host') {
      for (const ip of await addressesOf(resolver, lookup.host)) found.push({ ip, port: lookup.port, name: nameOf(lookup.host) });
    } else {
      const records = await noRecordsAsEmpty(resolver.resolveSrv(lookup.name));
      if (this.isStopped) return new Map();
      // "." as the target: the service is decidedly not available (RFC 2782).
      const usable = records.filter((r) => r.name !== '' && r.name !== '.');
      const ips = await Promise.all(usable.map((r) => addressesOf(resolver, r.name)));
      usable.forEach((r, i) => {
        for (const ip of ips[i]!) found.push({ ip, port: r.port, name: nameOf(r.name) });
      });
    }
    const out = new Map<string, Found>();
    for (const address of found) out.set(urlOf(this.spec.scheme, address.ip, address.port, this.spec.path), address);
    return out;
  }
}

/** The A and AAAA addresses of `host` (an IP address stands for itself). */
async function addressesOf(resolver: DnsResolver, host: string): Promise<string[]> {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (net.isIP(name) !== 0) return [name];
  const [v4, v6] = await Promise.all([noRecordsAsEmpty(resolver.resolve4(name)), noRecordsAsEmpty(resolver.resolve6(name))]);
  return [...v4, ...v6];
}

/** A name that does not exist, or has no records of the type, is an answer: none. */
async function noRecordsAsEmpty<T>(query: Promise<T[]>): Promise<T[]> {
  try {
    return await query;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw err;
  }
}

function nameOf(host: string): string | undefined {
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return net.isIP(name) !== 0 ? undefined : name;
}

export function urlOf(scheme: string, ip: string, port: number, path: string): string {
  return `${scheme}://${net.isIPv6(ip) ? `[${ip}]` : ip}:${port}${path}`;
}

function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) for (const info of list ?? []) out.add(info.address);
  return out;
}

function isLoopback(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return v4.startsWith('127.') || ip === '::1';
}

/**
 * Whether `ip:port` is where this peer listens: the listen host itself when `listen` was given
 * an IP address; any loopback address for `localhost`; otherwise (every interface, or a name)
 * any address of this machine, loopback included.
 */
export function isOwnAddress(
  ip: string,
  port: number,
  listen: { host: string | undefined; port: number } | undefined,
  local: () => Set<string>,
): boolean {
  if (listen === undefined || listen.port !== port) return false;
  const plain = (a: string): string => (a.startsWith('::ffff:') && net.isIPv4(a.slice(7)) ? a.slice(7) : a);
  const host = listen.host === undefined ? '' : listen.host.replace(/^\[|\]$/g, '');
  const wildcard = host === '' || host === '0.0.0.0' || host === '::' || host === '::0';
  if (!wildcard && net.isIP(host) !== 0) return plain(host) === plain(ip);
  if (host === 'localhost') return isLoopback(ip);
  return isLoopback(ip) || local().has(ip) || local().has(plain(ip));
}
