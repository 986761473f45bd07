import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * Runs a compiled harness (build/bench/soak/run.js, build/bench/fuzz/run.js) with `--json` and
 * returns its exit code and the summary on its last line. The harness kills its own children
 * when it ends or gets SIGTERM; `killHarnesses` stops any still running (a test that timed out).
 */

const root = path.resolve(__dirname, '..', '..', '..');
const running = new Set<ChildProcess>();

export interface HarnessRun<S> {
  code: number | null;
  summary: S;
  output: string;
}

export function runHarness<S>(harness: 'soak' | 'fuzz', args: string[], timeoutMs: number): Promise<HarnessRun<S>> {
  const child = spawn(process.execPath, [path.join(root, 'build', 'bench', harness, 'run.js'), ...args, '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`${harness} did not finish within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      running.delete(child);
      const last = output.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (last === undefined) return reject(new Error(`${harness} printed no summary (exit ${code}):\n${output}`));
      resolve({ code, summary: JSON.parse(last) as S, output });
    });
  });
}

export function killHarnesses(): void {
  for (const child of running) child.kill('SIGTERM');
}
