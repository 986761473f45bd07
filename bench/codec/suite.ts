import { Bench } from 'tinybench';
import { FrameEncoder, decodeFrame, decodePayload, BufferPool } from '../../src';
import type { Environment } from '../env';
import * as naive from './naive';

/**
 * Codec micro benchmarks: encode and decode of REQUEST, RESPONSE, MESSAGE and a STREAM_DATA
 * chunk at 64 B, 4 KiB and 64 KiB, ours against the naive codec (naive.ts), same inputs.
 * Ours releases every frame right away, so slabs recycle as they do in production.
 */

export interface CodecRow {
  op: 'encode' | 'decode';
  frame: 'request' | 'response' | 'message' | 'chunk';
  payload: number;
  payloadType: 'binary' | 'string';
  ours: number;
  naive: number;
}

export interface CodecResult {
  environment: Environment;
  quick: boolean;
  rows: CodecRow[];
}

export function runCodec(quick: boolean, log: (line: string) => void): CodecRow[] {
  const pool = new BufferPool();
  const encoder = new FrameEncoder(pool);
  const rows: CodecRow[] = [];
  const cases: Array<{ frame: CodecRow['frame']; payload: number; payloadType: CodecRow['payloadType'] }> = [];
  for (const payload of [64, 4096, 65536]) for (const frame of ['request', 'response', 'message', 'chunk'] as const) cases.push({ frame, payload, payloadType: 'binary' });
  cases.push({ frame: 'request', payload: 64, payloadType: 'string' });

  for (const c of cases) {
    const data: Buffer | string = c.payloadType === 'string' ? 'x'.repeat(c.payload) : Buffer.alloc(c.payload, 0x61);
    const bin = typeof data === 'string' ? Buffer.from(data) : data;
    const ourEncode = {
      request: () => pool.release(encoder.request('service', 'event', 123456, data)),
      response: () => pool.release(encoder.response(123456, data)),
      message: () => pool.release(encoder.message('service', 'event', data)),
      chunk: () => pool.release(encoder.streamChunk(4242, bin)),
    }[c.frame];
    const naiveEncode = {
      request: () => naive.encodeRequest('service', 'event', 123456, data),
      response: () => naive.encodeResponse(123456, data),
      message: () => naive.encodeMessage('service', 'event', data),
      chunk: () => naive.encodeChunk(4242, bin),
    }[c.frame];
    const frameBytes = Buffer.from(naiveEncode());
    // Both decoders read the value, as a handler reading ctx.data would.
    const ourDecode = (): unknown => {
      const f = decodeFrame(frameBytes);
      return 'payload' in f ? decodePayload(f.payload).value : f;
    };
    const naiveDecode = {
      request: () => naive.decodeRequest(frameBytes),
      response: () => naive.decodeResponse(frameBytes),
      message: () => naive.decodeMessage(frameBytes),
      chunk: () => naive.decodeChunk(frameBytes),
    }[c.frame];
    for (const op of ['encode', 'decode'] as const) {
      const bench = new Bench({ time: quick ? 60 : 400, warmupTime: quick ? 20 : 100 });
      bench.add('ours', op === 'encode' ? ourEncode : ourDecode);
      bench.add('naive', op === 'encode' ? naiveEncode : naiveDecode);
      bench.runSync();
      const hz = (name: string): number => {
        const result = bench.getTask(name)?.result as { throughput?: { mean: number } } | undefined;
        return Math.round(result?.throughput?.mean ?? 0);
      };
      const row: CodecRow = { op, ...c, ours: hz('ours'), naive: hz('naive') };
      rows.push(row);
      log(`codec ${op} ${c.frame.padEnd(8)} ${String(c.payload).padStart(5)} B ${c.payloadType.padEnd(6)} ours ${row.ours.toLocaleString('en-US')}/s  naive ${row.naive.toLocaleString('en-US')}/s  ${(row.ours / row.naive).toFixed(2)}x`);
    }
  }
  return rows;
}
