/**
 * A naive codec in the style of the original roletalk library, the baseline of the codec
 * benchmark: every frame is a Buffer.concat of many small Buffers, and decoding copies what
 * it slices and folds the correlation bytes with a reduce. Written here for the comparison.
 */

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** The minimal big-endian bytes of n (at least one byte): a varnum, written the naive way. */
export function varnumBytes(n: number): Buffer {
  const bytes: number[] = [];
  do {
    bytes.unshift(n % 256);
    n = Math.floor(n / 256);
  } while (n > 0);
  return Buffer.from(bytes);
}

function typed(data: Buffer | string): Buffer {
  return typeof data === 'string' ? Buffer.concat([Buffer.from([3]), Buffer.from(data)]) : Buffer.concat([Buffer.from([0]), Buffer.from(data)]);
}

export function encodeRequest(role: string, event: string, corr: number, data: Buffer | string): Buffer {
  const r = Buffer.from(role);
  const e = Buffer.from(event);
  const c = varnumBytes(corr);
  return Buffer.concat([Buffer.from([101]), u16(r.length), u16(e.length), Buffer.from([c.length]), r, e, c, typed(data)]);
}

export function encodeMessage(role: string, event: string, data: Buffer | string): Buffer {
  const r = Buffer.from(role);
  const e = Buffer.from(event);
  return Buffer.concat([Buffer.from([100]), u16(r.length), u16(e.length), r, e, typed(data)]);
}

export function encodeResponse(corr: number, data: Buffer | string): Buffer {
  const c = varnumBytes(corr);
  return Buffer.concat([Buffer.from([102]), Buffer.from([c.length]), c, typed(data)]);
}

export function encodeChunk(id: number, chunk: Buffer): Buffer {
  const i = varnumBytes(id);
  return Buffer.concat([Buffer.from([106]), Buffer.from([i.length]), i, Buffer.from([0]), Buffer.from(chunk)]);
}

function typedValue(buf: Buffer): unknown {
  const type = buf[0];
  const body = Buffer.from(buf.subarray(1));
  return type === 3 ? body.toString() : body;
}

export function decodeRequest(buf: Buffer): { role: string; event: string; corr: number; data: unknown } {
  const roleLen = buf.readUInt16BE(1);
  const eventLen = buf.readUInt16BE(3);
  const corrLen = buf[5]!;
  let o = 6;
  const role = Buffer.from(buf.subarray(o, (o += roleLen))).toString();
  const event = Buffer.from(buf.subarray(o, (o += eventLen))).toString();
  const corr = [...buf.subarray(o, (o += corrLen))].reduce((acc, b) => acc * 256 + b);
  return { role, event, corr, data: typedValue(buf.subarray(o)) };
}

export function decodeMessage(buf: Buffer): { role: string; event: string; data: unknown } {
  const roleLen = buf.readUInt16BE(1);
  const eventLen = buf.readUInt16BE(3);
  let o = 5;
  const role = Buffer.from(buf.subarray(o, (o += roleLen))).toString();
  const event = Buffer.from(buf.subarray(o, (o += eventLen))).toString();
  return { role, event, data: typedValue(buf.subarray(o)) };
}

export function decodeResponse(buf: Buffer): { corr: number; data: unknown } {
  const corrLen = buf[1]!;
  const corr = [...buf.subarray(2, 2 + corrLen)].reduce((acc, b) => acc * 256 + b);
  return { corr, data: typedValue(buf.subarray(2 + corrLen)) };
}

export function decodeChunk(buf: Buffer): { id: string; flag: number; body: Buffer } {
  const idLen = buf[1]!;
  // The original matches stream ids by their hex text.
  const id = buf.subarray(2, 2 + idLen).toString('hex');
  return { id, flag: buf[2 + idLen]!, body: Buffer.from(buf.subarray(3 + idLen)) };
}
