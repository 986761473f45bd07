import { num, parseFlags, type Args } from './args';
import { environment } from './env';
import { BASELINE_IMPLS, describe, E2E_GROUPS, runE2e, type E2eGroup, type E2eOptions } from './e2e/suite';
import type { Impl, Transport } from './e2e/messages';
import { CLIENT_CPU, findBinary, SERVER_CPU } from './e2e/processes';
import { runCodec } from './codec/suite';
import { runScale } from './scale/suite';
import { saveResult, setOutput, writeReport } from './report';

/**
 * `npm run bench [-- flags]` (`roletalk-bench run [flags]` installed): runs the suites, prints each
 * figure as it comes, saves the results in bench/results/ and regenerates BENCHMARKS.md (installed:
 * both in ./roletalk-bench-results). Baselines whose package (or program: nats-server) is absent
 * are skipped with a note.
 *
 *   --quick                  a short run (about 30 s)
 *   --only e2e|codec|scale   one suite
 *   --groups tracing,balance e2e groups to run (default all): requests, threads, batch, auth,
 *                            fanout, tracing, balance, transport, streams, scale
 *   --mesh ws://h:p,...      measure bench peers started elsewhere (roletalk-bench serve)
 *   --connections 1,2,4      redundant connections per peer pair
 *   --windows 1,16,64,256    requests in flight
 *   --payloads 64,4096,65536 payload bytes
 *   --io-threads 0,1,2       the serving peer's ioThreads settings to compare
 *   --auth-threads 0,2       the serving peer's authThreads settings in the handshake storm
 *   --units 3                units serving the role in broadcast and survey
 *   --write-batch 1          writeBatch.frames settings compared with the default (1: none)
 *   --transport unix,tcp     transports compared in the transport group (none: skip it)
 *   --transport-rounds 3     interleaved rounds of that comparison
 *   --rounds 3               interleaved rounds of the request cases against the baselines
 *   --stream-rounds 3        interleaved rounds of the streams group (roletalk against raw ws)
 *   --pin                    servers on CPU 0, the client on CPU 1 (with taskset; off by default)
 *   --baselines net,ws       baselines to measure (default all that can run): net, ws, grpc,
 *                            nats, moleculer
 *   --no-baselines           none of them
 *   --scale-connections 1000,5000,10000  idle connections held in the scale group
 *   --scale-requests 1000000 requests of its long run (0: none)
 *   --out DIR                write results and the report into DIR
 */

function list(value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const numbers = value.split(',').map((v) => Number(v.trim()));
  if (numbers.some((n) => !Number.isInteger(n) || n < 0)) throw new TypeError(`Expected a comma-separated list of integers, got "${value}"`);
  return numbers;
}

/** `--flag a,b`: names checked against `allowed`, without repeats; a bad or empty list throws naming the flag. */
function names<T extends string>(flag: string, value: string | true, allowed: readonly T[]): T[] {
  const picked = typeof value === 'string' ? value.split(',').map((v) => v.trim()).filter(Boolean) : [];
  if (picked.length === 0 || picked.some((n) => !(allowed as readonly string[]).includes(n))) {
    throw new TypeError(`Expected --${flag} with some of ${allowed.join(',')}, got "${value === true ? '' : value}"`);
  }
  return [...new Set(picked)] as T[];
}

/** The e2e groups and `scale` (bench/scale/, its own results file). */
const GROUPS = [...E2E_GROUPS, 'scale'] as const;
type Group = (typeof GROUPS)[number];

/** `--groups a,b`: the groups to run, checked against GROUPS; undefined: all. */
export function groupList(value: string | true | undefined): Group[] | undefined {
  return value === undefined ? undefined : names('groups', value, GROUPS);
}

/** `--baselines net,ws`: the baselines to measure (default all that can run); `--no-baselines`: none. */
export function baselineList(args: Args): Impl[] {
  if (args['no-baselines'] === true) return [];
  return args.baselines === undefined ? [...BASELINE_IMPLS] : names('baselines', args.baselines, BASELINE_IMPLS);
}

function transportList(value: string | true | undefined): Transport[] {
  if (value === undefined) return ['unix', 'tcp'];
  return value === 'none' ? [] : names('transport', value, ['unix', 'tcp'] as const);
}

/** `--rounds 3`, `--transport-rounds 3`: an integer of at least 1, or `fallback` when absent. */
export function roundCount(args: Args, name: string, fallback: number): number {
  return num(args, name, fallback, { integer: true, min: 1 });
}

/** `--pin` is a bare flag. */
export function pinFlag(value: string | true | undefined): boolean {
  if (value !== undefined && value !== true) throw new TypeError(`--pin takes no value, got "${value}"`);
  return value === true;
}

export function parseArgs(argv: string[]): Args {
  return parseFlags(argv);
}

/** `invokedAs`: how the command is named in the results (`roletalk-bench run` from the CLI). */
export async function main(argv: string[], invokedAs = 'npm run bench --'): Promise<void> {
  const args = parseArgs(argv);
  if (typeof args.out === 'string') setOutput(args.out);
  const quick = args.quick === true;
  const only = typeof args.only === 'string' ? args.only : undefined;
  const allGroups = groupList(args.groups);
  const groups = allGroups?.filter((g): g is E2eGroup => g !== 'scale');
  const rounds = roundCount(args, 'rounds', 3);
  const transportRounds = roundCount(args, 'transport-rounds', 3);
  const pinWanted = pinFlag(args.pin);
  const command = argv.length ? `${invokedAs} ${argv.join(' ')}` : invokedAs.replace(/ --$/, '');
  const started = Date.now();
  const log = (line: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);

  if (only === undefined || only === 'codec') {
    log('codec suite');
    const rows = runCodec(quick, log);
    saveResult('codec', { environment: environment(command), quick, rows });
  }
  if ((only === undefined || only === 'e2e') && (groups === undefined || groups.length > 0)) {
    const pin = pinWanted && findBinary('taskset') !== undefined;
    if (pinWanted && !pin) log('--pin ignored: taskset is not installed');
    const e2eEnvironment = { ...environment(command), pinned: pin ? `servers CPU ${SERVER_CPU}, client CPU ${CLIENT_CPU}` : 'no' };
    const options: E2eOptions = {
      quick,
      mesh: typeof args.mesh === 'string' ? args.mesh.split(',') : null,
      connections: list(args.connections as string | undefined, quick ? [1, 2] : [1, 2, 4]),
      windows: list(args.windows as string | undefined, quick ? [1, 64] : [1, 16, 64, 256]),
      payloads: list(args.payloads as string | undefined, quick ? [64, 65536] : [64, 4096, 65536]),
      ioThreads: list(args['io-threads'] as string | undefined, quick ? [0, 1] : [0, 1, 2]),
      authThreads: list(args['auth-threads'] as string | undefined, [0, 2]),
      units: list(args.units as string | undefined, [3])[0]!,
      writeBatches: list(args['write-batch'] as string | undefined, [1]),
      transports: transportList(args.transport),
      transportRounds,
      rounds,
      streamRounds: roundCount(args, 'stream-rounds', 3),
      pin,
      baselines: typeof args.mesh === 'string' ? [] : baselineList(args),
      ...(groups ? { groups } : {}),
      log,
    };
    log(`e2e suite${options.mesh ? ` against ${options.mesh.join(', ')}` : ' on a local mesh'}${groups && !options.mesh ? ` (groups ${groups.join(', ')})` : ''}`);
    const rows = await runE2e(options);
    if (options.mesh) {
      for (const row of rows) console.log(describe(row));
      console.log('(mesh runs are printed, not saved: BENCHMARKS.md describes the local mesh)');
    } else {
      // The transport comparison and the streams group have their own results files, so that
      // each can run alone (--groups transport) without replacing the other tables.
      const ownFile = ['transport', 'streams'] as const;
      const others = groups?.filter((g) => !(ownFile as readonly string[]).includes(g));
      if (others === undefined || others.length > 0) {
        const rest = rows.filter((r) => !(ownFile as readonly (string | undefined)[]).includes(r.group));
        saveResult('e2e', { environment: e2eEnvironment, quick, ...(others ? { groups: others } : {}), rows: rest });
      }
      for (const group of ownFile) {
        const own = rows.filter((r) => r.group === group);
        if (own.length > 0) saveResult(group, { environment: e2eEnvironment, quick, rows: own });
      }
    }
  }
  if ((only === undefined || only === 'e2e' || only === 'scale') && (allGroups === undefined || allGroups.includes('scale')) && args.mesh === undefined) {
    log('scale group: idle connections and a long run');
    const result = await runScale({
      quick,
      connections: list(args['scale-connections'] as string | undefined, quick ? [1000] : [1000, 5000, 10000]),
      requests: list(args['scale-requests'] as string | undefined, [quick ? 200_000 : 1_000_000])[0]!,
      log,
    });
    saveResult('scale', { environment: environment(command), ...result });
  }
  const file = writeReport();
  log(`wrote ${file}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(err.message);
    process.exitCode = 1;
  });
}
