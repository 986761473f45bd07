import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ClientTask, Row, ServerOptions, ServerReady } from './messages';

/** With `--pin`, servers (and a broker) run on this CPU and the client on the other. */
export const SERVER_CPU = 0;
export const CLIENT_CPU = 1;

/** A CPU to run a process on, or null: wherever the scheduler puts it. */
export type Cpu = number | null;

/** An executable on the PATH or in the sbin directories (where Debian puts nats-server), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** The command that runs `file args` on `cpu` (through taskset, which execs it: pid, fds and IPC stay). */
export function onCpu(cpu: Cpu, file: string, args: string[]): [string, string[]] {
  if (cpu === null) return [file, args];
  const taskset = findBinary('taskset');
  if (taskset === undefined) throw new Error('pinning needs taskset, which is not installed');
  return [taskset, ['-c', String(cpu), file, ...args]];
}

function forkOn(cpu: Cpu, module: string, args: string[]): ChildProcess {
  const [execPath, execArgv] = onCpu(cpu, process.execPath, process.execArgv);
  const options: ForkOptions = { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(cpu === null ? {} : { execPath, execArgv }) };
  return fork(path.join(__dirname, module), args, options);
}

/** A bench server process (server.js), once it listens. */
export function startServer(options: ServerOptions, cpu: Cpu): Promise<{ child: ChildProcess; addresses: string[] }> {
  const child = forkOn(cpu, 'server.js', [JSON.stringify(options)]);
  return new Promise((resolve, reject) => {
    child.once('message', (msg: ServerReady) => resolve({ child, addresses: msg.addresses }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

/** Runs a task in a bench client process (client.js); `log` gets each row as it comes. */
export function runClient(task: ClientTask, cpu: Cpu, log: (row: Row) => void): Promise<Row[]> {
  const child = forkOn(cpu, 'client.js', []);
  return new Promise((resolve, reject) => {
    child.on('message', (msg: { kind: string; rows?: Row[]; row?: Row; message?: string }) => {
      if (msg.kind === 'progress' && msg.row) log(msg.row);
      else if (msg.kind === 'done') resolve(msg.rows!);
      else if (msg.kind === 'error') reject(new Error(msg.message));
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`bench client exited with ${code}`));
    });
    child.send(task);
  });
}

/** A TCP port free on 127.0.0.1 a moment ago, for programs that must be told one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on 127.0.0.1:`port`; rejects after `ms`. */
export async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
