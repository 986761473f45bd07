import { execSync } from 'node:child_process';
import os from 'node:os';

/** Where and when a benchmark ran: printed with every table. */
export interface Environment {
  node: string;
  cpu: string;
  cores: number;
  os: string;
  commit: string;
  date: string;
  command: string;
}

export function environment(command: string): Environment {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain -- src bench', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (dirty) commit += '+changes';
  } catch {
    // Not a git checkout (an installed package): the commit stays unknown.
  }
  return {
    node: process.version,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    os: `${os.platform()} ${os.release()}`,
    commit,
    date: new Date().toISOString(),
    command,
  };
}

export function environmentLine(env: Environment): string {
  return `Node ${env.node}, ${env.cpu} (${env.cores} cores), ${env.os}; commit ${env.commit}; ${env.date.slice(0, 16).replace('T', ' ')} UTC; \`${env.command}\``;
}
