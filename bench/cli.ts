#!/usr/bin/env node
import { fork } from 'node:child_process';
import path from 'node:path';
import { main as runBench, parseArgs } from './run';

/**
 * roletalk-bench: the benchmark suite as a command.
 *
 *   roletalk-bench serve --port 7000 [--peers 1] [--io-threads 0]   bench peers for --mesh runs
 *   roletalk-bench run [flags of npm run bench]                      the suite (see bench/run.ts)
 */

const [command, ...rest] = process.argv.slice(2);

if (command === 'serve') {
  const args = parseArgs(rest);
  const options = {
    impl: 'roletalk',
    peers: Number(args.peers ?? 1),
    ioThreads: Number(args['io-threads'] ?? 0),
    port: Number(args.port ?? 0),
  };
  // The server prints its addresses and runs until stopped.
  fork(path.join(__dirname, 'e2e', 'server.js'), [JSON.stringify(options)], { stdio: 'inherit' }).on('message', (msg: { addresses: string[] }) => {
    console.log(`roletalk bench peers listening: ${msg.addresses.join(',')}`);
  });
} else if (command === 'run') {
  runBench(rest, 'roletalk-bench run').catch((err: Error) => {
    console.error(err.message);
    process.exitCode = 1;
  });
} else {
  console.log('usage: roletalk-bench serve --port 7000 [--peers N] [--io-threads N]\n       roletalk-bench run [--quick] [--mesh ws://host:port,...] [...]');
  process.exitCode = command === undefined || command === '--help' ? 0 : 1;
}
