import { parseFlags, type Args } from './args';
import { environment } from './env';
import { describe, E2E_GROUPS, runE2e, type E2eGroup, type E2eOptions } from './e2e/suite';
import type { Transport } from './e2e/messages';
import { runCodec } from './codec/suite';
import { saveResult, setOutput, writeReport } from './report';

/**
 * `npm run bench [-- flags]` (`roletalk-bench run [flags]` installed): runs the suites, prints each
 * figure as it comes, saves the results in bench/results/ and regenerates BENCHMARKS.md (installed:
 * both in ./roletalk-bench-results). Baselines whose package is absent are skipped.
 *
 *   --quick                  a short run (about 30 s)
 *   --only e2e|codec         one suite
 *   --groups tracing,balance e2e groups to run (default all): requests, threads, batch, auth,
 *                            fanout, tracing, balance, transport, streams
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
 *   --stream-rounds 3        interleaved rounds of the streams group (roletalk against raw ws)
 *   --no-baselines           skip raw ws and Moleculer
 *   --out DIR                write results and the report into DIR
 */

function list(value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  const numbers = value.split(',').map((v) => Number(v.trim()));
  if (numbers.some((n) => !Number.isInteger(n) || n < 0)) throw new TypeError(`Expected a comma-separated list of integers, got "${value}"`);
  return numbers;
}

/** `--groups a,b`: the e2e groups to run, checked against E2E_GROUPS; undefined: all. */
export function groupList(value: string | true | undefined): E2eGroup[] | undefined {
  if (value === undefined) return undefined;
  const names = typeof value === 'string' ? value.split(',').map((v) => v.trim()).filter(Boolean) : [];
  const unknown = names.filter((n) => !(E2E_GROUPS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new TypeError(`Expected --groups with some of ${E2E_GROUPS.join(',')}, got "${value === true ? '' : value}"`);
  }
  return names as E2eGroup[];
}

function transportList(value: string | true | undefined): Transport[] {
  if (value === undefined) return ['unix', 'tcp'];
  if (value === 'none') return [];
  const names = typeof value === 'string' ? value.split(',').map((v) => v.trim()) : [];
  if (names.length === 0 || names.some((n) => n !== 'unix' && n !== 'tcp')) {
    throw new TypeError(`Expected --transport unix,tcp (or a part of it, or none), got "${value === true ? '' : value}"`);
  }
  return [...new Set(names)] as Transport[];
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
  const groups = groupList(args.groups);
  const command = argv.length ? `${invokedAs} ${argv.join(' ')}` : invokedAs.replace(/ --$/, '');
  const started = Date.now();
  const log = (line: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);

  if (only === undefined || only === 'codec') {
    log('codec suite');
    const rows = runCodec(quick, log);
    saveResult('codec', { environment: environment(command), quick, rows });
  }
  if (only === undefined || only === 'e2e') {
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
      transportRounds: list(args['transport-rounds'] as string | undefined, [3])[0]!,
      streamRounds: list(args['stream-rounds'] as string | undefined, [3])[0]!,
      baselines: args['no-baselines'] !== true && typeof args.mesh !== 'string',
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
        saveResult('e2e', { environment: environment(command), quick, ...(others ? { groups: others } : {}), rows: rest });
      }
      for (const group of ownFile) {
        const own = rows.filter((r) => r.group === group);
        if (own.length > 0) saveResult(group, { environment: environment(command), quick, rows: own });
      }
    }
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
