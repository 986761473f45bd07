import { environmentLine } from '../env';
import type { IdleRow, ScaleResult } from './messages';

/** Renders the scale section of BENCHMARKS.md from bench/results/scale.json. */

/** Goals of issue 12, goal 5. */
export const SCALE_GOALS = {
  /** Our cost per idle connection may exceed raw ws's by this much (RSS and heap). */
  extraKiB: 2,
  /** Heartbeat CPU of this many idle connections stays under `cpuPercent` of a core. */
  cpuConnections: 10000,
  cpuPercent: 5,
  /** Heap after GC at the end of the long run, within this fraction of its start. */
  heapDrift: 0.1,
};

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(2)} MiB`;
const verdict = (met: boolean): string => (met ? 'met' : '**not met**');

function idleTable(ours: IdleRow, raw: IdleRow | undefined): string[] {
  const out = [`### ${ours.connections.toLocaleString('en-US')} idle connections`, '', '| per connection | roletalk | raw ws | difference | goal |', '|---|---|---|---|---|'];
  for (const [label, field] of [['RSS', 'rssPerConn'], ['heap used', 'heapPerConn']] as const) {
    const extra = raw === undefined ? undefined : ours[field] - raw[field];
    const goal = extra === undefined ? '–' : `≤ ${SCALE_GOALS.extraKiB} KiB more: ${verdict(extra <= SCALE_GOALS.extraKiB * 1024)}`;
    out.push(`| ${label} | ${kib(ours[field])} | ${raw ? kib(raw[field]) : '–'} | ${extra === undefined ? '–' : kib(extra)} | ${goal} |`);
  }
  const cpuGoal =
    ours.connections >= SCALE_GOALS.cpuConnections ? `< ${SCALE_GOALS.cpuPercent} % of a core: ${verdict(ours.cpuPercent < SCALE_GOALS.cpuPercent)}` : `(judged at ${SCALE_GOALS.cpuConnections.toLocaleString('en-US')})`;
  out.push(
    `| heartbeat CPU over ${ours.windowMs / 1000} s idle, % of a core (whole process) | ${ours.cpuPercent.toFixed(2)} % | ${raw ? `${raw.cpuPercent.toFixed(2)} %` : '–'} | ${raw ? `${(ours.cpuPercent - raw.cpuPercent).toFixed(2)} %` : '–'} | ${cpuGoal} |`,
    '',
  );
  return out;
}

function requestTable(run: NonNullable<ScaleResult['requests']>): string[] {
  const first = run.samples[0]!;
  const last = run.samples.at(-1)!;
  const out = [
    `### Heap over ${run.total.toLocaleString('en-US')} requests`,
    '',
    `One caller, one server, ${run.window} pipelined \`echo\` requests of 64 B (${Math.round(run.total / run.seconds).toLocaleString('en-US')} req/s); heap used after GC in both processes, the start taken after ${run.warmup.toLocaleString('en-US')} warm-up requests.`,
    '',
    '| requests | caller heap | server heap |',
    '|---|---|---|',
    ...run.samples.map((s) => `| ${s.done.toLocaleString('en-US')} | ${mib(s.clientHeap)} | ${mib(s.serverHeap)} |`),
    '',
  ];
  for (const [who, field] of [['caller', 'clientHeap'], ['server', 'serverHeap']] as const) {
    const ratio = last[field] / first[field];
    out.push(`Goal: the ${who}'s heap at the end within ${SCALE_GOALS.heapDrift * 100} % of its start: end/start ${ratio.toFixed(3)}, ${verdict(Math.abs(ratio - 1) <= SCALE_GOALS.heapDrift)}.`, '');
  }
  return out;
}

export function renderScale(result: ScaleResult): string {
  const out = [
    '## Scale: idle connections and a long run',
    '',
    environmentLine(result.environment) + (result.quick ? ' (quick run)' : ''),
    '',
    `One serving process (one roletalk Peer, or a raw \`ws\` server) holds N idle connections from a client process, each a unit of its own for roletalk. ` +
      `Memory is the serving process's growth from before the connections, after full GCs, divided by N; CPU is the serving process's over an idle window. ` +
      `Both ping every connection every ${result.heartbeat.interval} ms (roletalk's default heartbeat; ws as in its README, one interval for all), a fresh pair of processes for every figure.`,
    '',
  ];
  for (const ours of result.idle.filter((r) => r.impl === 'roletalk')) {
    out.push(...idleTable(ours, result.idle.find((r) => r.impl === 'ws' && r.connections === ours.connections)));
  }
  if (result.requests !== null) out.push(...requestTable(result.requests));
  out.push('Run it alone with `npm run bench -- --only scale` (add `--quick` for a short run).');
  return out.join('\n');
}
