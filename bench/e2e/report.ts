import fs from 'node:fs';
import path from 'node:path';
import { environmentLine, type Environment } from '../env';
import { barChart } from '../svg';
import type { Row } from './messages';

/** The saved result of one e2e run (bench/results/e2e.json). */
export interface E2eResult {
  environment: Environment;
  quick: boolean;
  rows: Row[];
}

const key = (r: Row): string => `${r.case}|${r.connections}|${r.window}|${r.payload}|${r.units ?? 1}|${r.ioThreads ?? 0}|${r.writeBatch ?? 0}`;

function find(rows: Row[], impl: Row['impl'], like: Row): Row | undefined {
  const other = impl === 'roletalk' ? like : { ...like, ioThreads: 0, writeBatch: undefined };
  return rows.find((r) => r.impl === impl && key(r) === key(other));
}

/** The figure a row is judged by: throughput, MB/s, or p50 latency. */
function figure(r: Row | undefined): number | undefined {
  if (r === undefined) return undefined;
  return r.opsPerSec ?? r.mbPerSec ?? r.p50;
}

function fmt(r: Row | undefined): string {
  if (r === undefined) return '–';
  if (r.p50 !== undefined) return `${r.p50} / ${r.p99} / ${r.p999} µs`;
  if (r.mbPerSec !== undefined) return `${r.mbPerSec} MB/s`;
  return `${(r.opsPerSec ?? 0).toLocaleString('en-US')}/s`;
}

/** ours/other of the row's figure: of time for latency (lower is better), else of rate. */
function ratio(ours: Row | undefined, other: Row | undefined): number | undefined {
  const a = figure(ours);
  const b = figure(other);
  if (a === undefined || b === undefined || a === 0 || b === 0) return undefined;
  return a / b;
}

function fmtRatio(value: number | undefined, latency: boolean): string {
  if (value === undefined) return '–';
  return `${value.toFixed(2)}x${latency ? ' (time)' : ''}`;
}

function label(r: Row): string {
  const size = r.payload >= 1024 ? `${r.payload / 1024} KiB` : `${r.payload} B`;
  const units = r.units && r.units > 1 ? `, ${r.units} units` : '';
  const io = (r.ioThreads ? `, ioThreads ${r.ioThreads}` : '') + (r.writeBatch ? `, writeBatch ${r.writeBatch} frame` : '');
  const win = r.case === 'throughput' || r.case === 'survey' || r.case === 'burn' ? `, window ${r.window}` : '';
  return `${r.case}, ${r.connections} conn${win}, ${size}${units}${io}`;
}

/** Renders the e2e section of BENCHMARKS.md and writes its charts next to the results. */
export function renderE2e(result: E2eResult, previous: E2eResult | undefined, chartDir: string, chartLink: string): string {
  const rows = result.rows.filter((r) => r.group === undefined);
  const threadRows = result.rows.filter((r) => r.group === 'threads');
  const authRows = result.rows.filter((r) => r.group === 'auth');
  const ours = rows.filter((r) => r.impl === 'roletalk');
  const out: string[] = [];
  out.push('## End to end: roletalk against raw `ws` and Moleculer');
  out.push('');
  out.push(environmentLine(result.environment) + (result.quick ? ' (quick run: short, noisy figures)' : ''));
  out.push('');
  out.push('Server and client in separate processes on 127.0.0.1. Latency is p50 / p99 / p99.9 of single requests');
  out.push('(one in flight); throughput is completions over wall time with `window` requests in flight. For latency');
  out.push('the ratio is ours/ws of time (lower is better); for everything else ours/ws of rate (higher is better).');
  out.push('Single-request latency on a small VM swings between runs (whether the idle core is asleep when an answer');
  out.push('comes decides most of it): read RTT ratios across runs, with the previous-run column, not from one row.');
  out.push('');
  out.push('| case | roletalk | raw ws | ours/ws | Moleculer | ours/Moleculer | previous run |');
  out.push('|---|---|---|---|---|---|---|');
  for (const r of ours) {
    const ws = find(rows, 'ws', r);
    const mol = find(rows, 'moleculer', r);
    const prev = previous?.rows.find((p) => p.impl === 'roletalk' && key(p) === key(r));
    const latency = r.p50 !== undefined;
    out.push(
      `| ${label(r)} | ${fmt(r)} | ${fmt(ws)} | ${fmtRatio(ratio(r, ws), latency)} | ${fmt(mol)} | ${fmtRatio(ratio(r, mol), latency)} | ${fmt(prev)} |`,
    );
  }
  out.push('');
  out.push(...goals(rows));
  out.push('');
  if (threadRows.length > 0) out.push(...threadsTable(threadRows), '');
  if (authRows.length > 0) out.push(...authTable(authRows), '');

  fs.mkdirSync(chartDir, { recursive: true });
  const charts: Array<[string, string]> = [];
  const plain = (r: Row): boolean => !r.ioThreads && !r.writeBatch;
  const latencyRows = ours.filter((r) => r.case === 'rtt' && plain(r));
  if (latencyRows.length > 0) {
    const impls: Row['impl'][] = ['roletalk', 'ws', 'moleculer'];
    charts.push([
      'e2e-latency.svg',
      barChart({
        title: 'Request latency, one in flight (µs, lower is better)',
        unit: 'µs',
        series: impls.flatMap((i) => [`${i} p50`, `${i} p99`]),
        groups: latencyRows.map((r) => ({
          label: `${r.connections} conn`,
          values: impls.flatMap((i) => {
            const m = i === 'roletalk' ? r : find(rows, i, r);
            return [m?.p50, m?.p99];
          }),
        })),
      }),
    ]);
  }
  const byWindow = ours.filter((r) => r.case === 'throughput' && r.connections === 1 && r.payload === 64 && plain(r));
  if (byWindow.length > 0) {
    charts.push([
      'e2e-throughput-window.svg',
      barChart({
        title: 'Requests/s by window, 64 B, 1 connection',
        unit: 'requests/s',
        series: ['roletalk', 'roletalk, no write batching', 'raw ws', 'Moleculer'],
        groups: byWindow.map((r) => ({
          label: `window ${r.window}`,
          values: [figure(r), figure(ours.find((o) => o.writeBatch === 1 && key(o) === key({ ...r, writeBatch: 1 }))), figure(find(rows, 'ws', r)), figure(find(rows, 'moleculer', r))],
        })),
      }),
    ]);
  }
  const maxWindow = Math.max(0, ...ours.filter((r) => r.case === 'throughput').map((r) => r.window));
  const byConn = ours.filter((r) => r.case === 'throughput' && r.window === maxWindow && r.payload === 64 && plain(r));
  if (byConn.length > 0) {
    charts.push([
      'e2e-throughput-connections.svg',
      barChart({
        title: `Requests/s by redundant connections, 64 B, window ${maxWindow}`,
        unit: 'requests/s',
        series: ['roletalk', 'raw ws'],
        groups: byConn.map((r) => ({ label: `${r.connections} conn`, values: [figure(r), figure(find(rows, 'ws', r))] })),
      }),
    ]);
  }
  for (const [name, svg] of charts) {
    fs.writeFileSync(path.join(chartDir, name), svg);
    out.push(`![${name}](${chartLink}/${name})`);
    out.push('');
  }
  return out.join('\n');
}

/** The issue's goals, stated plainly against this run's figures. */
function goals(rows: Row[]): string[] {
  const pick = (impl: Row['impl'], pred: (r: Row) => boolean): Row | undefined =>
    rows.find((r) => r.impl === impl && !r.ioThreads && !r.writeBatch && pred(r));
  const lines = ['Goals (figures from this run):', ''];
  const check = (text: string, value: number | undefined, ok: (v: number) => boolean, unit = 'x'): void => {
    if (value === undefined) lines.push(`- ${text}: not measured in this run`);
    else lines.push(`- ${text}: **${value.toFixed(2)}${unit}**, ${ok(value) ? 'met' : '**not met**'}`);
  };
  const rtt = (impl: Row['impl']): Row | undefined => pick(impl, (r) => r.case === 'rtt' && r.connections === 1);
  check('request RTT p50 ours/ws at most 1.15x', ratio(rtt('roletalk'), rtt('ws')), (v) => v <= 1.15);
  const maxWindow = Math.max(0, ...rows.filter((r) => r.case === 'throughput').map((r) => r.window));
  const pipe = (impl: Row['impl'], payload: number, window: number): Row | undefined =>
    pick(impl, (r) => r.case === 'throughput' && r.connections === 1 && r.payload === payload && r.window === window);
  check(`pipelined 64 B requests (window ${maxWindow}) ours/ws at least 1.0x`, ratio(pipe('roletalk', 64, maxWindow), pipe('ws', 64, maxWindow)), (v) => v >= 1);
  check('64 KiB requests (window 64) ours/ws at least 0.9x', ratio(pipe('roletalk', 65536, 64), pipe('ws', 65536, 64)), (v) => v >= 0.9);
  check(`request throughput (window ${maxWindow}) ours/Moleculer at least 2x`, ratio(pipe('roletalk', 64, maxWindow), pipe('moleculer', 64, maxWindow)), (v) => v >= 2);
  const stream = (impl: Row['impl']): Row | undefined => pick(impl, (r) => r.case === 'stream');
  check('stream MB/s with 64 KiB chunks ours/ws at least 0.9x', ratio(stream('roletalk'), stream('ws')), (v) => v >= 0.9);
  return lines;
}

/** The I/O-thread comparison: each case with the serving peer's ioThreads 0, 1, 2, ... */
function threadsTable(rows: Row[]): string[] {
  const settings = [...new Set(rows.map((r) => r.ioThreads ?? 0))].sort((a, b) => a - b);
  const cases = rows.filter((r) => (r.ioThreads ?? 0) === settings[0]);
  const out = [
    '### I/O threads (`ioThreads` on the serving peer)',
    '',
    '`burn` requests make the handler spin 50 µs of CPU on the serving peer\'s main thread, the case I/O threads',
    'exist for. Ratios are against `ioThreads: 0` in the same run (of time for latency, of rate otherwise).',
    '',
    `| case | ${settings.map((s) => `ioThreads ${s}`).join(' | ')} | ${settings.slice(1).map((s) => `${s} vs 0`).join(' | ')} |`,
    `|---|${settings.map(() => '---|').join('')}${settings.slice(1).map(() => '---|').join('')}`,
  ];
  for (const base of cases) {
    const same = (s: number): Row | undefined =>
      rows.find((r) => (r.ioThreads ?? 0) === s && r.case === base.case && r.connections === base.connections && r.window === base.window);
    const cells = settings.map((s) => fmt(same(s)));
    const ratios = settings.slice(1).map((s) => fmtRatio(ratio(same(s), base), base.p50 !== undefined));
    out.push(`| ${label({ ...base, ioThreads: 0 })} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  const burn = (s: number): Row | undefined => rows.find((r) => r.case === 'burn' && r.connections === 1 && (r.ioThreads ?? 0) === s);
  const best = Math.max(...settings.slice(1).map((s) => ratio(burn(s), burn(0)) ?? 0));
  out.push('', `Goal: burning handlers at least 1.3x with I/O threads: **${best.toFixed(2)}x**, ${best >= 1.3 ? 'met' : '**not met**'}.`);
  return out;
}

/** The handshake storm: keyed connections opened at once, HMACs inline or in a pool. */
function authTable(rows: Row[]): string[] {
  const out = [
    '### Handshake storm (`authThreads` on the serving peer)',
    '',
    `${rows[0]?.samples ?? 0} keyed connections opened at once by one client; handshakes completed per second. "busy" keeps`,
    "the serving peer's main thread spinning that share of the time. Ratios are against inline HMACs (authThreads 0).",
    '',
    '| server main thread | authThreads | handshakes/s | vs inline |',
    '|---|---|---|---|',
  ];
  for (const r of rows) {
    const inline = rows.find((x) => x.authThreads === 0 && x.busyPercent === r.busyPercent);
    out.push(`| ${r.busyPercent ? `${r.busyPercent}% busy` : 'idle'} | ${r.authThreads} | ${(r.opsPerSec ?? 0).toLocaleString('en-US')} | ${fmtRatio(ratio(r, inline), false)} |`);
  }
  return out;
}
