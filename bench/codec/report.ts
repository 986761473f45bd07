import { sectionHead } from '../env';
import type { CodecResult } from './suite';

const size = (n: number): string => (n >= 1024 ? `${n / 1024} KiB` : `${n} B`);

/** The codec section of BENCHMARKS.md. */
export function renderCodec(result: CodecResult): string {
  const out = [
    ...sectionHead('## Codec: encoder and decoder against a naive codec', result),
    'tinybench, one process. The naive codec (bench/codec/naive.ts) builds each frame as a `Buffer.concat`',
    'of small Buffers and decodes with copies, as the original library does. Decoding includes reading the',
    'payload value. Ours writes in place into pooled slabs and decodes into views.',
    '',
    '| op | frame | payload | ours (ops/s) | naive (ops/s) | ours/naive |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of result.rows) {
    out.push(`| ${r.op} | ${r.frame} | ${size(r.payload)} ${r.payloadType} | ${r.ours.toLocaleString('en-US')} | ${r.naive.toLocaleString('en-US')} | ${(r.ours / r.naive).toFixed(2)}x |`);
  }
  const pick = (op: string): number | undefined => {
    const r = result.rows.find((x) => x.op === op && x.frame === 'request' && x.payload === 64 && x.payloadType === 'binary');
    return r ? r.ours / r.naive : undefined;
  };
  const enc = pick('encode');
  const dec = pick('decode');
  out.push('', 'Goals (figures from this run):', '');
  if (enc !== undefined) out.push(`- encoding a 64 B request at least 3x the naive codec: **${enc.toFixed(2)}x**, ${enc >= 3 ? 'met' : '**not met**'}`);
  if (dec !== undefined) out.push(`- decoding a 64 B request at least 2x: **${dec.toFixed(2)}x**, ${dec >= 2 ? 'met' : '**not met**'}`);
  return out.join('\n');
}
