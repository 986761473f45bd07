import { fork, type ChildProcess } from 'node:child_process';

/**
 * Child processes of a harness: forked with `--expose-gc` and an IPC channel, and all killed when
 * the harness exits, however it exits (end, error, Ctrl-C, SIGTERM from a test's timeout). The
 * children also leave by themselves when the IPC channel drops (see `exitWithParent`).
 */
const live = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

export interface ForkOptions {
  /** Receives each line the child writes to stderr (otherwise passed through). */
  onStderr?: (line: string) => void;
  /** Receives each line the child writes to stdout (otherwise passed through). */
  onStdout?: (line: string) => void;
}

export function forkChild(file: string, args: string[] = [], options: ForkOptions = {}): ChildProcess {
  hook();
  const child = fork(file, args, { execArgv: ['--expose-gc'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  lines(child.stdout!, options.onStdout ?? ((line) => process.stdout.write(`${line}\n`)));
  lines(child.stderr!, options.onStderr ?? ((line) => process.stderr.write(`${line}\n`)));
  return child;
}

function lines(stream: NodeJS.ReadableStream, each: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    rest += chunk;
    let i: number;
    while ((i = rest.indexOf('\n')) !== -1) {
      each(rest.slice(0, i));
      rest = rest.slice(i + 1);
    }
  });
  stream.on('end', () => {
    if (rest) each(rest);
  });
}

/** In a child: leave when the harness goes away (its IPC channel closes). */
export function exitWithParent(): void {
  process.on('disconnect', () => process.exit(0));
}

/** Resolves with the next IPC message from `child` that `match` accepts; rejects if it exits first. */
export function nextMessage<T>(child: ChildProcess, match: (msg: any) => boolean, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (msg: unknown): void => {
      if (!match(msg)) return;
      done();
      resolve(msg as T);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      done();
      reject(new Error(`${what}: the child exited first (${signal ?? code})`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: no answer within ${ms} ms`));
    }, ms);
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
