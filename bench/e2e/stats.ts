import type { Row } from './messages';

/** Figures over interleaved rounds, for the report: medians, and the spread that tells how far to trust them. */

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  return { median: median(values)!, min: Math.min(...values), max: Math.max(...values) };
}

/** "median`unit` (min–max)", each written by `format`; "–" when nothing was measured. */
export function fmtSpread(s: Spread | undefined, format: (v: number) => string, unit = ''): string {
  if (s === undefined) return '–';
  return s.min === s.max ? `${format(s.median)}${unit}` : `${format(s.median)}${unit} (${format(s.min)}–${format(s.max)})`;
}

/**
 * One row per implementation and case (`key`): a case run in rounds becomes the medians of its
 * figures over them, so that tables of single figures show the typical round.
 */
export function collapseRounds(rows: Row[], key: (r: Row) => string): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const id = `${r.impl}|${key(r)}`;
    groups.set(id, [...(groups.get(id) ?? []), r]);
  }
  return [...groups.values()].map((same) => {
    if (same.length === 1) return same[0]!;
    const { round: _round, ...first } = same[0]!;
    const of = (pick: (r: Row) => number | undefined): number | undefined => median(same.map(pick).filter((v): v is number => v !== undefined));
    const row: Row = { ...first, samples: same.reduce((n, r) => n + r.samples, 0), seconds: same.reduce((n, r) => n + r.seconds, 0) };
    // Rounded as the rows' own figures are: µs and MB/s to 2 decimals, rates to whole numbers.
    for (const field of ['p50', 'p99', 'p999', 'mean', 'mbPerSec'] as const) {
      const value = of((r) => r[field]);
      if (value !== undefined) row[field] = Math.round(value * 100) / 100;
    }
    const ops = of((r) => r.opsPerSec);
    if (ops !== undefined) row.opsPerSec = Math.round(ops);
    return row;
  });
}
