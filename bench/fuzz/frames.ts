import fs from 'node:fs';
import path from 'node:path';
import { FrameType } from '../../src/protocol/constants';
import { varnumBytes } from '../codec/naive';
import { root } from '../env';

/**
 * Frames for the fuzzer: valid ones (recorded from original peers in test/fixtures/vectors, and
 * made here with random fields), and the mutations of docs/protocol.md's frames that the fuzzer
 * throws at a live peer. Everything is drawn from a seeded generator, so one connection's frames
 * are the same for the same seed and connection number.
 */

/** sfc32: a small, fast, seeded generator. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seeds: number[]) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = 1;
    for (const s of seeds) {
      this.a ^= s | 0;
      this.b ^= Math.imul(s | 0, 0x85ebca6b);
      for (let i = 0; i < 12; i++) this.u32();
    }
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) out.writeUInt32LE(this.u32(), i);
    for (; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** Picks a key by weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    let total = 0;
    for (const [, w] of entries) total += w;
    let r = this.int(total);
    for (const [k, w] of entries) {
      if (r < w) return k;
      r -= w;
    }
    return entries[0]![0];
  }
}

/** Frame types, as the library names them. */
export const T = FrameType;

const FRAME_TYPES = [T.MESSAGE, T.REQUEST, T.RESPONSE, T.REQUEST_READABLE, T.REQUEST_WRITABLE, T.REJECT, T.STREAM_DATA, T.STREAM_RESOLVE, T.STREAM_REJECT, T.ACQUAINT, T.ROLES];
const HANDSHAKE_TYPES = [T.HS_ERROR, T.HS_CHALLENGE, T.HS_RESPONSE, T.HS_CONFIRMED];
const ROLES = ['svc', 'svc', 'svc', 'dormant', 'ghost', '', 'ß∂ƒ', 'x'.repeat(300)];
const EVENTS = ['echo', 'echo', 'void', 'fail', 'fail_string', 'fail_object', 'note', 'upload', 'download', 'refuse', 'refuse_string', 'abort', 'explode', 'nothere', ''];


/** Frames recorded from original peers, by what they are. */
export interface Bases {
  /** Frames of §3 (type 100 and above). */
  frames: Buffer[];
  /** Handshake frames of §2. */
  handshake: Buffer[];
}

export function loadBases(): Bases {
  const file = path.join(root, 'test', 'fixtures', 'vectors', 'frames.json');
  const vectors = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ hex: string }>;
  const all = vectors.map((v) => Buffer.from(v.hex, 'hex'));
  return { frames: all.filter((f) => f[0]! >= 100), handshake: all.filter((f) => f[0]! <= 3) };
}


/** A typed payload (§3 Payloads), valid or not. */
export function payload(rng: Rng): Buffer {
  switch (rng.int(9)) {
    case 0:
      return Buffer.concat([Buffer.from([0]), rng.bytes(rng.int(64))]);
    case 1:
      return Buffer.from([1]);
    case 2:
      return rng.chance(0.8) ? Buffer.from([2, rng.int(3)]) : Buffer.from([2]);
    case 3:
      return Buffer.concat([Buffer.from([3]), Buffer.from(rng.pick(['', 'hello', 'ünïcödé', '\u0000', 'x'.repeat(200)]))]);
    case 4:
      return Buffer.concat([Buffer.from([4]), Buffer.from(rng.pick(['0', '-0', '1e21', 'NaN', 'Infinity', '12.5', 'abc', '', '9'.repeat(400)]))]);
    case 5:
      return Buffer.concat([Buffer.from([5]), Buffer.from(rng.pick(JSON_TEXTS))]);
    case 6:
      // Unknown datatype byte.
      return Buffer.concat([Buffer.from([6 + rng.int(250)]), rng.bytes(rng.int(16))]);
    case 7:
      // No datatype byte at all.
      return Buffer.alloc(0);
    default:
      return Buffer.concat([Buffer.from([5]), garbageJson(rng)]);
  }
}

const JSON_TEXTS = ['{}', '[]', 'null', '{"x":1,"y":"z"}', '[1,2,3]', '"str"', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"p":1}}}', '1e400'];

/** JSON text that is broken, of the wrong shape, or expensive to read. */
export function garbageJson(rng: Rng): Buffer {
  switch (rng.int(12)) {
    case 0:
      return rng.bytes(rng.int(80));
    case 1: {
      const text = JSON.stringify({ i: rng.int(1000), roles: ['svc', 'x'] });
      return Buffer.from(text.slice(0, rng.int(text.length)));
    }
    case 2:
      return Buffer.from(rng.pick(['null', '[]', '"roles"', '123', 'true', '{}', '{"i":1}', '{"roles":[]}']));
    case 3:
      return Buffer.from(JSON.stringify({ i: rng.pick(['1', null, -1, 1e308, 1.5, [], {}]), roles: rng.pick(['svc', 5, null, [1, 2], [{}], {}]) }));
    case 4: {
      // Deep nesting: JSON.parse must not take the process down.
      const depth = rng.pick([1000, 10000, 100000]);
      return Buffer.from('['.repeat(depth) + ']'.repeat(rng.chance(0.5) ? depth : 0));
    }
    case 5:
      return Buffer.from(JSON.stringify({ __proto__: { polluted: 1 }, i: 1e6 + rng.int(1000), roles: ['svc'] }).replace('"i"', '"__proto__":{"polluted":1},"i"'));
    case 6:
      return Buffer.from(JSON.stringify({ i: 2e6 + rng.int(1000), roles: Array.from({ length: rng.pick([0, 100, 10000]) }, (_, k) => `r${k}`) }));
    case 7:
      return Buffer.from(JSON.stringify({ id: rng.pick(['', 'x', 5, null, 'feedfacefeedfacefeedfacefeedface']), address: rng.pick([undefined, '', 'ws://', 'http://127.0.0.1:1', 'ws://127.0.0.1:1', 5, 'ws://[::1', 'ws://' + 'a'.repeat(2000)]), roles: rng.pick([[], ['svc'], 'svc', null, [5]]) }));
    case 8:
      return Buffer.from('{"i":' + '9'.repeat(rng.pick([20, 400, 5000])) + ',"roles":[]}');
    case 9:
      return Buffer.from('\ufeff{"i":1,"roles":[]}');
    case 10:
      return Buffer.from('{"i":1,"roles":["' + '\\ud800'.repeat(rng.int(20)) + '"]}');
    default:
      return Buffer.from(JSON.stringify({ i: 3e6 + rng.int(1000), roles: ['svc'], extra: 'x'.repeat(rng.int(5000)) }));
  }
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

/** A correlation id or stream id: usually minimal, sometimes padded, empty or too long. */
function idBytes(rng: Rng): Buffer {
  const r = rng.int(20);
  if (r === 0) return Buffer.alloc(0);
  if (r === 1) return Buffer.concat([Buffer.alloc(1 + rng.int(3)), varnumBytes(rng.int(1000))]);
  if (r === 2) return rng.bytes(8 + rng.int(8));
  if (r === 3) return Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  return varnumBytes(rng.chance(0.5) ? rng.int(256) : rng.int(2 ** 31));
}

/** A frame of §3 with random fields; its header is right, its contents may not make sense. */
export function synthetic(rng: Rng): Buffer {
  const type = rng.pick(FRAME_TYPES);
  const role = Buffer.from(rng.pick(ROLES));
  const event = Buffer.from(rng.pick(EVENTS));
  switch (type) {
    case T.MESSAGE:
      return Buffer.concat([Buffer.from([type]), u16(role.length), u16(event.length), role, event, payload(rng)]);
    case T.REQUEST: {
      const c = idBytes(rng);
      return Buffer.concat([Buffer.from([type]), u16(role.length), u16(event.length), Buffer.from([c.length]), role, event, c, payload(rng)]);
    }
    case T.REQUEST_READABLE:
    case T.REQUEST_WRITABLE: {
      const c = idBytes(rng);
      const s = rng.chance(0.9) ? varnumBytes(1 + rng.int(65535)) : idBytes(rng);
      const ev = Buffer.from(rng.pick(['download', 'upload', 'abort', 'explode', 'refuse', 'echo']));
      const data = rng.chance(0.7) ? Buffer.concat([Buffer.from([4]), Buffer.from(String(rng.int(100000)))]) : payload(rng);
      return Buffer.concat([Buffer.from([type]), u16(role.length), u16(ev.length), Buffer.from([c.length, s.length]), role, ev, c, s, data]);
    }
    case T.RESPONSE:
    case T.REJECT: {
      const c = idBytes(rng);
      return Buffer.concat([Buffer.from([type, c.length]), c, payload(rng)]);
    }
    case T.STREAM_RESOLVE:
    case T.STREAM_REJECT: {
      const c = idBytes(rng);
      const s = idBytes(rng);
      return Buffer.concat([Buffer.from([type, c.length, s.length]), c, s, payload(rng)]);
    }
    case T.STREAM_DATA: {
      const s = rng.chance(0.8) ? varnumBytes(1 + rng.int(65535)) : idBytes(rng);
      const flag = rng.chance(0.9) ? rng.int(4) : 4 + rng.int(252);
      const body = flag === 3 ? idBytes(rng) : rng.bytes(rng.int(rng.chance(0.05) ? 70000 : 100));
      return Buffer.concat([Buffer.from([type, s.length]), s, Buffer.from([flag]), body]);
    }
    case T.ACQUAINT:
      return Buffer.concat([Buffer.from([type]), rng.chance(0.5) ? garbageJson(rng) : Buffer.from(JSON.stringify({ id: rng.bytes(16).toString('hex'), address: 'ws://127.0.0.1:1', roles: ['nobody-wants-this'] }))]);
    default:
      return Buffer.concat([Buffer.from([T.ROLES]), rng.chance(0.5) ? garbageJson(rng) : Buffer.from(JSON.stringify({ i: rng.int(1e6), roles: rng.chance(0.5) ? ['svc'] : [] }))]);
  }
}

/** Sets one of the frame's length fields to a wrong value (the header of §3 for its type). */
function wrongLength(rng: Rng, base: Buffer): Buffer {
  const f = Buffer.from(base);
  const type = f[0];
  const fields: Array<[offset: number, size: 1 | 2]> = [];
  if (type === T.MESSAGE) fields.push([1, 2], [3, 2]);
  else if (type === T.REQUEST) fields.push([1, 2], [3, 2], [5, 1]);
  else if (type === T.REQUEST_READABLE || type === T.REQUEST_WRITABLE) fields.push([1, 2], [3, 2], [5, 1], [6, 1]);
  else if (type === T.RESPONSE || type === T.REJECT || type === T.STREAM_DATA) fields.push([1, 1]);
  else if (type === T.STREAM_RESOLVE || type === T.STREAM_REJECT) fields.push([1, 1], [2, 1]);
  const usable = fields.filter(([o, s]) => o + s <= f.length);
  if (usable.length === 0) return Buffer.concat([f, rng.bytes(4)]);
  const [offset, size] = rng.pick(usable);
  if (size === 2) f.writeUInt16BE(rng.pick([0, 1 + rng.int(16), f.length, f.length + 1, 0x7fff, 0xffff]) & 0xffff, offset);
  else f[offset] = rng.pick([0, 1 + rng.int(16), 7, 8, f.length, 255]) & 0xff;
  return f;
}

/** A REQUEST, RESPONSE, stream frame or STREAM_DATA whose varnum length is 8 to 255 bytes, or 7 bytes above 2^53. */
function hugeVarnum(rng: Rng): Buffer {
  const big = rng.chance(0.5) ? Buffer.concat([Buffer.from([0x20 + rng.int(0xdf)]), rng.bytes(6)]) : rng.bytes(8 + rng.int(248));
  const role = Buffer.from('svc');
  const event = Buffer.from('echo');
  switch (rng.int(5)) {
    case 0:
      return Buffer.concat([Buffer.from([T.REQUEST]), u16(3), u16(4), Buffer.from([big.length]), role, event, big, Buffer.from([3, 0x78])]);
    case 1:
      return Buffer.concat([Buffer.from([rng.pick([T.RESPONSE, T.REJECT]), big.length]), big, Buffer.from([3, 0x78])]);
    case 2:
      return Buffer.concat([Buffer.from([T.STREAM_DATA, big.length]), big, Buffer.from([rng.int(4)])]);
    case 3:
      return Buffer.concat([Buffer.from([T.REQUEST_WRITABLE]), u16(3), u16(6), Buffer.from([1, big.length]), role, Buffer.from('upload'), Buffer.from([1]), big, Buffer.from([1])]);
    default:
      // QUOTA with a body longer than 7 bytes (ignored, §6).
      return Buffer.concat([Buffer.from([T.STREAM_DATA, 2, 0x12, 0x34, 3]), rng.bytes(8 + rng.int(64))]);
  }
}

function bitflip(rng: Rng, base: Buffer): Buffer {
  const f = Buffer.from(base);
  if (f.length === 0) return f;
  const flips = 1 + rng.int(8);
  for (let i = 0; i < flips; i++) {
    // Mostly in the header, where the structure is.
    const at = rng.chance(0.7) ? rng.int(Math.min(f.length, 12)) : rng.int(f.length);
    f[at]! ^= 1 << rng.int(8);
  }
  return f;
}

export const MUTATIONS = {
  valid: 14,
  'valid-random-fields': 14,
  'random-payload': 8,
  bitflip: 14,
  truncate: 9,
  extend: 7,
  'random-bytes': 4,
  'type-with-garbage': 6,
  'wrong-length': 8,
  'huge-varnum': 5,
  'json-garbage': 8,
  text: 1,
} as const;
export type Mutation = keyof typeof MUTATIONS;

/** One frame to send after the handshake: a Buffer (binary message) or a string (a text message). */
export function fuzzFrame(rng: Rng, bases: Bases): { kind: Mutation; frame: Buffer | string } {
  const kind = rng.weighted(MUTATIONS);
  const base = (): Buffer => (rng.chance(0.5) ? rng.pick(bases.frames) : synthetic(rng));
  switch (kind) {
    case 'valid':
      return { kind, frame: rng.pick(bases.frames) };
    case 'valid-random-fields':
      return { kind, frame: synthetic(rng) };
    case 'random-payload': {
      const role = Buffer.from('svc');
      const event = Buffer.from(rng.pick(['echo', 'note', 'void', 'fail']));
      const type = rng.chance(0.5) ? T.REQUEST : T.MESSAGE;
      const head = type === T.REQUEST ? Buffer.concat([Buffer.from([type]), u16(3), u16(event.length), Buffer.from([2]), role, event, u16(rng.int(65536))]) : Buffer.concat([Buffer.from([type]), u16(3), u16(event.length), role, event]);
      return { kind, frame: Buffer.concat([head, payload(rng)]) };
    }
    case 'bitflip':
      return { kind, frame: bitflip(rng, base()) };
    case 'truncate': {
      const b = base();
      return { kind, frame: b.subarray(0, rng.int(b.length)) };
    }
    case 'extend':
      return { kind, frame: Buffer.concat([base(), rng.bytes(1 + rng.int(64))]) };
    case 'random-bytes':
      return { kind, frame: rng.bytes(rng.int(300)) };
    case 'type-with-garbage':
      return { kind, frame: Buffer.concat([Buffer.from([rng.pick(FRAME_TYPES)]), rng.bytes(rng.int(64))]) };
    case 'wrong-length':
      return { kind, frame: wrongLength(rng, base()) };
    case 'huge-varnum':
      return { kind, frame: hugeVarnum(rng) };
    case 'json-garbage':
      return { kind, frame: Buffer.concat([Buffer.from([rng.chance(0.5) ? T.ROLES : T.ACQUAINT]), garbageJson(rng)]) };
    case 'text':
      return { kind, frame: rng.pick(['', 'hello', '{"i":1,"roles":[]}', String.fromCharCode(100, 0, 3, 0, 4)]) };
  }
}

/** A valid CONFIRMED of §2 for a raw client. */
export function confirmed(id: string, roles: string[] = []): Buffer {
  return Buffer.concat([
    Buffer.from([T.HS_CONFIRMED]),
    Buffer.from(JSON.stringify({ id, roles, friendly: false, name: 'fuzz', meta: { os: 'fuzz', runtime: 'fuzz', time: Date.now(), uptime: 0, protocol: '2.0.0' }, tags: {} })),
  ]);
}

/** A handshake frame of §2 that is broken one way or another (or, sometimes, valid). */
export function fuzzHandshake(rng: Rng, bases: Bases, id: string): Buffer | string {
  const good = confirmed(id);
  switch (rng.int(9)) {
    case 0:
      return bitflip(rng, good);
    case 1:
      return good.subarray(0, rng.int(good.length));
    case 2:
      return Buffer.concat([Buffer.from([T.HS_CONFIRMED]), garbageJson(rng)]);
    case 3:
      return Buffer.concat([Buffer.from([T.HS_CONFIRMED]), Buffer.from(JSON.stringify(rng.pick([{ id }, { roles: [] }, { id: 5, roles: [] }, { id, roles: 'svc' }, { id: '', roles: [] }, { id, roles: [], tags: { a: 1 }, meta: null, ext: { listen: 'ws://127.0.0.1:1' } }, { id: 'x'.repeat(100000), roles: [] }])))]);
    case 4:
      return Buffer.concat([Buffer.from([rng.pick(HANDSHAKE_TYPES)]), rng.bytes(rng.int(64))]);
    case 5:
      return bitflip(rng, rng.pick(bases.handshake));
    case 6:
      // A frame of §3 before the handshake is done.
      return synthetic(rng);
    case 7:
      return rng.pick(['', 'confirm', '{"id":"x"}']);
    default:
      return rng.pick(bases.handshake);
  }
}
